"""Personal data (個人資料保護法): requests from the people concerned, and the retention run."""
