#!/usr/bin/env python3
"""Makes the legacy-format files of the scan corpus tests (crates/cli/tests/e2e/scan.rs,
crates/scan/tests/hostile.rs) with a real office suite, so the scanner is tested against
files as LibreOffice (and so Office) writes them, not as our own code imagines them.

    python3 crates/scan/tests/corpus/make.py   # needs soffice (Debian: libreoffice-calc,
                                                   # -writer, -impress, fonts-noto-cjk) and a
                                                   # release build of mamori (for `mamori gen`)

People are the project's own synthetic ones (`mamori gen`): seed 1 is the test's
tenant acme, seed 2 beta, seed 9 nobody's customers. Which people go into which
file is fixed below; the test asserts the counts that follow from it.
"""
import csv, io, os, shutil, subprocess, sys, tempfile
from xml.sax.saxutils import escape

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../../../.."))
MAMORI = os.path.join(ROOT, "target/release/mamori")


def people(seed, n):
    out = subprocess.run([MAMORI, "gen", "--records", str(n), "--seed", str(seed)],
                         check=True, capture_output=True).stdout.decode()
    return list(csv.DictReader(io.StringIO(out)))


acme, beta, nobody = people(1, 40), people(2, 30), people(9, 20)

NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
      'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
      'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
      'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
      'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" '
      'xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0"')


def flat(kind, body):
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document {NS} office:version="1.2" '
            f'office:mimetype="application/vnd.oasis.opendocument.{kind}"><office:body>{body}'
            '</office:body></office:document>\n')


def p(s):
    return f"<text:p>{escape(s)}</text:p>"


def line(x, phone):
    return f"{x['氏名カナ']}　{x[phone]}　{x['メールアドレス']}"


def make(work):
    # A workbook typed as people do: mobiles as numbers (Excel drops the 0),
    # birth dates as dates (serial numbers underneath).
    with open(os.path.join(work, "顧客台帳.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["氏名", "氏名カナ", "携帯", "メール", "生年月日"])
        for x in acme[0:6] + nobody[0:4]:
            w.writerow([x["氏名"], x["氏名カナ"], x["携帯電話番号"].replace("-", ""),
                        x["メールアドレス"], x["生年月日"]])
    # Minutes with a table: one row per person.
    rows = "".join(
        "<table:table-row>" + "".join(
            f"<table:table-cell>{p(c)}</table:table-cell>"
            for c in (x["氏名カナ"], x["電話番号"], x["メールアドレス"])) + "</table:table-row>"
        for x in beta[0:5] + nobody[4:7])
    doc = (p("打合せメモ（お客さま連絡先）") +
           '<table:table table:name="t"><table:table-column table:number-columns-repeated="3"/>'
           f"{rows}</table:table>")
    with open(os.path.join(work, "打合せメモ.fodt"), "w") as f:
        f.write(flat("text", f"<office:text>{doc}</office:text>"))
    # Slides: one text box per person.
    frames = "".join(
        f'<draw:page draw:name="p{i}"><draw:frame svg:x="1cm" svg:y="1cm" svg:width="24cm" '
        f'svg:height="3cm"><draw:text-box>{p(line(x, "携帯電話番号"))}</draw:text-box>'
        "</draw:frame></draw:page>"
        for i, x in enumerate(acme[6:10] + nobody[7:9]))
    with open(os.path.join(work, "提案資料.fodp"), "w") as f:
        f.write(flat("presentation", f"<office:presentation>{frames}</office:presentation>"))
    # A printed list: one line per person.
    lines = "".join(p(line(x, "電話番号")) for x in beta[5:11] + nobody[9:12])
    with open(os.path.join(work, "名簿.fodt"), "w") as f:
        f.write(flat("text", f"<office:text>{p('名簿')}{lines}</office:text>"))
    convert = [("顧客台帳.csv", "xls:MS Excel 97", ["--infilter=CSV:44,34,76,1"]),
               ("打合せメモ.fodt", "doc:MS Word 97", []),
               ("提案資料.fodp", "ppt:MS PowerPoint 97", []),
               ("名簿.fodt", "pdf:writer_pdf_Export", [])]
    for src, to, extra in convert:
        subprocess.run(["soffice", "--headless", *extra, "--convert-to", to, "--outdir", work,
                        os.path.join(work, src)], check=True, capture_output=True)
    for name in ["顧客台帳.xls", "打合せメモ.doc", "提案資料.ppt", "名簿.pdf"]:
        shutil.copy(os.path.join(work, name), os.path.join(HERE, name))
        print(name, os.path.getsize(os.path.join(HERE, name)), "bytes")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as work:
        make(work)
    sys.exit(0)
