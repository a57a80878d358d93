"""Regenerate the sample sheets of the agency import tests: ``python tests/agencies/data/make_samples.py``."""

from __future__ import annotations

import base64
import csv
import io
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
HEADER_ZH = ["機關代碼", "機關名稱", "層級", "上級機關代碼", "縣市", "地理分類", "機關首長", "地址", "電話"]

UTF8_ROWS = [
    ["TEST-0100", "臺東縣政府", "縣市", "", "台東縣", "偏遠", "饒縣長", "臺東縣臺東市中山路276號", "089-326141"],
    # A row naming its supervisor before the supervisor's own row would be fine too; here it follows it.
    ["TEST-0110", " 臺東縣蘭嶼鄉公所 ", "鄉鎮市區", "TEST-0100", "臺東縣", "離島", "", "", ""],
    ["TEST-0120", "臺東縣綠島鄉公所", "鄉（鎮、市、區）", "TEST-0100", "臺東縣", "離島地區", "", "", ""],
    ["TEST-0200", "法務部矯正署臺東監獄", "中央機關", "DEMO-A0100", "臺東縣", "remote", "", "", ""],
]
BIG5_ROWS = [
    ["TEST-0300", "澎湖縣望安鄉公所", "鄉鎮市區", "DEMO-C1000", "澎湖縣", "離島", "望安鄉長", "", ""],
    ["TEST-0310", "金門縣烈嶼鄉公所", "鄉鎮市區", "DEMO-C2000", "金門縣", "離島", "", "", ""],
    ["TEST-0320", "連江縣東引鄉公所", "township", "DEMO-C3000", "連江縣", "outlying_island", "", "", ""],
]
MALFORMED_ROWS = [
    ["BAD-0001", "正常機關", "其他", "", "臺北市", "本島", "", "", ""],          # row 2: fine
    ["BAD-0002", "", "其他", "", "臺北市", "本島", "", "", ""],                  # row 3: no name
    ["BAD-0003", "層級錯誤", "部會", "", "臺北市", "本島", "", "", ""],          # row 4: unknown level
    ["BAD-0004", "縣市錯誤", "其他", "", "火星市", "本島", "", "", ""],          # row 5: unknown county
    ["BAD-0005", "地理錯誤", "其他", "", "臺北市", "海外", "", "", ""],          # row 6: unknown geography
    ["BAD-0001", "重複代碼", "其他", "", "臺北市", "本島", "", "", ""],          # row 7: code of row 2 again
    ["BAD-0007", "上級不存在", "其他", "NOPE-999", "臺北市", "本島", "", "", ""],  # row 8: unknown supervisor
    ["BAD-0008", "長" * 101, "其他", "", "臺北市", "本島", "", "", ""],          # row 9: name too long
    ["BAD 0009", "代碼有空白", "其他", "", "臺北市", "本島", "", "", ""],        # row 10: space in the code
    ["BAD-0010", "自己管自己", "其他", "BAD-0010", "臺北市", "本島", "", "", ""],  # row 11: its own supervisor
    ["BAD-0011", "循環甲", "其他", "BAD-0012", "臺北市", "本島", "", "", ""],    # row 12: loop with row 13
    ["BAD-0012", "循環乙", "其他", "BAD-0011", "臺北市", "本島", "", "", ""],    # row 13: loop with row 12
]
# A 1×1 PNG, to be uploaded under a .csv name.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAcCBlCwAAAABJRU5ErkJggg=="
)


def csv_bytes(rows: list[list[str]], encoding: str) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes() -> bytes:
    """English headers in another order, an ignored column, a numeric code and a formula-like name."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["name", "code", "level", "supervisor_code", "county", "geography", "phone", "note"])
    rows = [
        ["澎湖縣七美鄉公所", "TEST-0400", "township", "DEMO-C1000", "澎湖縣", "outlying_island", "06-9971001", "ok"],
        ['=HYPERLINK("http://x","y")', "TEST-0401", "other", "", "臺北市", "main_island", "", "formula-like"],
        ["數字代碼機關", 40100, "其他", "", "新北市", "本島", 2212345, ""],
    ]
    for row in rows:
        sheet.append(row)
    for row in sheet.iter_rows(min_row=2):  # text as text: "=..." must stay a string cell
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def main() -> None:
    (HERE / "agencies_utf8_bom.csv").write_bytes(csv_bytes([HEADER_ZH, *UTF8_ROWS], "utf-8-sig"))
    (HERE / "agencies_big5.csv").write_bytes(csv_bytes([HEADER_ZH, *BIG5_ROWS], "cp950"))
    (HERE / "agencies.xlsx").write_bytes(xlsx_bytes())
    (HERE / "malformed.csv").write_bytes(csv_bytes([HEADER_ZH, *MALFORMED_ROWS], "utf-8"))
    (HERE / "picture.csv").write_bytes(PNG)


if __name__ == "__main__":
    main()
