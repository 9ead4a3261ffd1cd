#!/usr/bin/env bash
# Scanning Office files for personal data: `mamori scan --no-match` (one
# thread, find and count only) over a generated mixed corpus of xlsx, docx and
# pptx files, against the baseline of the issue: the 3.7 MB/s per thread that
# the most used Japanese PC-inspection tool states for Office files (target
# >= 10x, 37 MB/s). Throughput is counted in bytes of the files as they lie on
# disk (compressed), as a user sees the folder's size, and in bytes of XML
# inflated (the work actually done). Same machine, one run.
#
#   bench/scan-office.sh [RECORDS]   default 200000 generated customers
#
# The corpus is made from `mamori gen` output by Python's standard library
# (zipfile), so nothing is downloaded. Results: bench/out-scan-office/results.json.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200000}
OUT=bench/out-scan-office
rm -rf "$OUT" && mkdir -p "$OUT/corpus"
cargo build --release -q -p mamori-cli
M=target/release/mamori

echo "== a corpus: $N customers in workbooks, letters and slides"
$M gen --records "$N" --seed 3 --out "$OUT/customers.csv" >/dev/null
python3 - "$OUT" <<'PY'
import csv, sys, zipfile
from xml.sax.saxutils import escape
out = sys.argv[1]
rows = list(csv.reader(open(f"{out}/customers.csv", encoding="utf-8")))
header, rows = rows[0], rows[1:]
CT = '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'
def z(path, parts):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as f:
        for name, body in parts:
            f.writestr(name, body)
def cell_ref(c, r):
    return f"{chr(65 + c)}{r}"
xml_bytes = 0
# Workbooks of 5,000 rows: text as shared strings, phone numbers as Excel
# keeps them when typed without their leading 0 (numbers).
for k, start in enumerate(range(0, len(rows) // 2, 5000)):
    chunk = rows[start:start + 5000]
    strings, index, sheet = [], {}, []
    def s(v):
        if v not in index:
            index[v] = len(strings); strings.append(v)
        return index[v]
    for r, row in enumerate([header] + chunk, 1):
        cells = []
        for c, v in enumerate(row):
            digits = v.replace("-", "").replace(" ", "")
            if r > 1 and digits.isdigit() and digits.startswith("0") and len(digits) in (10, 11):
                cells.append(f'<c r="{cell_ref(c, r)}"><v>{int(digits)}</v></c>')
            else:
                cells.append(f'<c r="{cell_ref(c, r)}" t="s"><v>{s(v)}</v></c>')
        sheet.append(f'<row r="{r}">{"".join(cells)}</row>')
    sst = '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' + "".join(f"<si><t>{escape(v)}</t></si>" for v in strings) + "</sst>"
    ws = '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>' + "".join(sheet) + "</sheetData></worksheet>"
    xml_bytes += len(sst.encode()) + len(ws.encode())
    z(f"{out}/corpus/顧客{k:03}.xlsx", [("[Content_Types].xml", CT), ("xl/workbook.xml", "<workbook/>"), ("xl/sharedStrings.xml", sst), ("xl/worksheets/sheet1.xml", ws)])
# Letters of 1,000 customers: a paragraph each, and a table of the same.
rest = rows[len(rows) // 2:]
W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
def wp(t): return f"<w:p><w:r><w:t>{escape(t)}</w:t></w:r></w:p>"
half = len(rest) * 2 // 3
for k, start in enumerate(range(0, half, 1000)):
    chunk = rest[start:start + 1000]
    paras = "".join(wp(f"{r[1]} 様（{r[2]}） ご住所 〒{r[5]} {r[6]} お電話 {r[7]} / {r[8]} メール {r[9]}") for r in chunk)
    table = "<w:tbl>" + "".join("<w:tr>" + "".join(f"<w:tc>{wp(v)}</w:tc>" for v in (r[0], r[1], r[8])) + "</w:tr>" for r in chunk) + "</w:tbl>"
    doc = f"<w:document {W}><w:body>{paras}{table}</w:body></w:document>"
    xml_bytes += len(doc.encode())
    z(f"{out}/corpus/お知らせ{k:03}.docx", [("[Content_Types].xml", CT), ("word/document.xml", doc)])
# Slides: 50 customers per slide, 20 slides per deck.
A = 'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"'
slides_rows = rest[half:]
for k, start in enumerate(range(0, len(slides_rows), 1000)):
    chunk = slides_rows[start:start + 1000]
    parts = [("[Content_Types].xml", CT), ("ppt/presentation.xml", "<p:presentation/>")]
    for n, s0 in enumerate(range(0, len(chunk), 50), 1):
        body = "".join(f"<a:p><a:r><a:t>{escape(r[1])} {escape(r[7])} {escape(r[9])}</a:t></a:r></a:p>" for r in chunk[s0:s0 + 50])
        xml = f"<p:sld {A}><p:cSld><p:spTree><p:sp><p:txBody>{body}</p:txBody></p:sp></p:spTree></p:cSld></p:sld>"
        xml_bytes += len(xml.encode())
        parts.append((f"ppt/slides/slide{n}.xml", xml))
    z(f"{out}/corpus/報告{k:03}.pptx", parts)
open(f"{out}/xml_bytes", "w").write(str(xml_bytes))
PY
BYTES=$(cat "$OUT"/corpus/* | wc -c)
XML=$(cat "$OUT/xml_bytes")
FILES=$(ls "$OUT/corpus" | wc -l)

source bench/lib.sh
echo "== mamori scan --no-match (one thread), $FILES files"
S=$(timed "$OUT/scan.out" "$M" --json scan --no-match "$OUT/corpus")
python3 - "$OUT" "$BYTES" "$XML" "$S" <<'PY'
import json, sys
out, size, xml, s = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
text, docs, i, dec = open(f"{out}/scan.out").read(), [], 0, json.JSONDecoder()
while i < len(text):
    if text[i].isspace():
        i += 1
        continue
    d, i = dec.raw_decode(text, i)
    docs.append(d)
found = sum(sum(d.get("found", {}).get("counts", {}).values()) for d in docs if "found" in d)
r = {"file_bytes": size, "xml_bytes": xml, "seconds": s, "file_mb_s": size / s / 1e6,
     "xml_mb_s": xml / s / 1e6, "baseline_mb_s": 3.7, "ratio": size / s / 1e6 / 3.7, "values_found": found}
json.dump(r, open(f"{out}/results.json", "w"), indent=2)
print(f"  {size/1e6:,.1f} MB on disk ({xml/1e6:,.0f} MB of XML): {r['file_mb_s']:,.1f} MB/s of files, "
      f"{r['xml_mb_s']:,.0f} MB/s of XML = {r['ratio']:.1f}x the 3.7 MB/s baseline (target >= 10x); {found:,} values found")
PY
