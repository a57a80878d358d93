def test_login_page_renders_in_traditional_chinese_by_default(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert 'lang="zh-Hant-TW"' in response.get_data(as_text=True)


def test_anonymous_home_redirects_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_each_demo_role_reaches_its_home(client, demo, login):
    for who, marker in (("organizer", "/editions"), ("judge1", "林評審委員"), ("penghu", "澎湖縣政府")):
        login.as_demo(who)
        page = client.get("/", follow_redirects=True).get_data(as_text=True)
        assert marker in page
        client.post("/logout")
