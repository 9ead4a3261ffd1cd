//! E-mail saved as a file: Internet messages (.eml, MIME) and Outlook's
//! .msg (a compound file of MAPI properties). A mail that went out with a
//! customer list attached is the commonest way such a list leaves: the
//! headers (each address with its display name, one group), the subject and
//! the body lines are read here, and each attachment is handed back to the
//! walk as an entry of the message (`mail.eml!/名簿.xlsx`), inspected like
//! any file — a zip inside an attachment inside a message too, within the
//! archive limits.

use std::{collections::BTreeMap, io::Cursor};

use mail_parser::{Address, MessageParser, MimeHeaders};

use crate::{
    archive::{Entry, Why},
    decode,
    detect::Sink,
    extract::{Groups, Read},
    legacy,
};

/// Whether `bytes` look like an Internet message: header lines from the
/// first byte, a `From:` among them and a MIME or routing header, before
/// the first blank line.
pub fn looks_like_eml(head: &[u8]) -> bool {
    let head = &head[..head.len().min(16 << 10)];
    let Some(end) =
        memchr::memmem::find(head, b"\r\n\r\n").or_else(|| memchr::memmem::find(head, b"\n\n"))
    else {
        return false;
    };
    let mut from = false;
    let mut mime = false;
    for line in head[..end].split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.first().is_some_and(|&b| b == b' ' || b == b'\t') {
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return false;
        };
        let name = line[..colon].to_ascii_lowercase();
        if name.is_empty() || !name.iter().all(|&b| b.is_ascii_graphic()) {
            return false;
        }
        from |= name == b"from";
        mime |= matches!(
            name.as_slice(),
            b"mime-version" | b"received" | b"message-id" | b"return-path"
        );
    }
    from && mime
}

/// A message's text into `sink`; its attachments for the walk to inspect.
pub fn read_eml(
    bytes: &[u8],
    max_cell_chars: usize,
    sink: &mut impl Sink,
) -> Result<(Read, Vec<Entry>), Why> {
    let message = MessageParser::default().parse(bytes).ok_or(Why::Damaged)?;
    let mut groups = Groups::new(sink, max_cell_chars);
    for address in [
        message.from(),
        message.sender(),
        message.reply_to(),
        message.to(),
        message.cc(),
        message.bcc(),
    ]
    .into_iter()
    .flatten()
    {
        addresses(address, &mut groups);
    }
    if let Some(subject) = message.subject() {
        groups.lines(subject);
    }
    for i in 0..message.text_body_count() {
        if let Some(body) = message.body_text(i) {
            groups.lines(&body);
        }
    }
    let attachments = message
        .attachments()
        .enumerate()
        .map(|(i, part)| {
            let name = part.attachment_name().map_or_else(
                || {
                    let ext = if part.is_message() { "eml" } else { "bin" };
                    format!("attachment-{}.{ext}", i + 1)
                },
                str::to_owned,
            );
            Entry::File {
                name,
                bytes: part.contents().to_vec(),
            }
        })
        .collect();
    Ok((groups.out, attachments))
}

/// Each address with its display name, one group (a name and an address of
/// one person may confirm each other; two people's must not).
fn addresses<S: Sink>(address: &Address<'_>, groups: &mut Groups<'_, S>) {
    for a in address.iter() {
        let line = format!(
            "{} {}",
            a.name().unwrap_or_default(),
            a.address().unwrap_or_default()
        );
        groups.paragraph(&line);
    }
}

/// MAPI property tags of a .msg ([MS-OXMSG] 2.1): a stream
/// `__substg1.0_TTTTYYYY` holds property TTTT of type YYYY.
const UNICODE: &str = "001F";
const STRING8: &str = "001E";
const BINARY: &str = "0102";
/// An attachment's bytes (PidTagAttachDataBinary).
const ATTACH_DATA: &str = "3701";
/// An attachment's names and MIME details, not content.
const ATTACH_META: [&str; 4] = ["3704", "3707", "370E", "3712"];
/// The HTML body, read only when there is no plain one.
const HTML_BODY: &str = "1013";
const PLAIN_BODY: &str = "1000";

/// An Outlook message: every text property (sender, recipients, subject,
/// body, transport headers; an embedded message's too) read, each
/// recipient one group; attachments handed back to the walk.
pub fn read_msg(
    bytes: &[u8],
    max_cell_chars: usize,
    sink: &mut impl Sink,
) -> Result<(Read, Vec<Entry>), Why> {
    let mut ole = cfb::CompoundFile::open(Cursor::new(bytes)).map_err(|_| Why::Damaged)?;
    let streams: Vec<String> = ole
        .walk()
        .filter(|e| e.is_stream())
        .map(|e| e.path().to_string_lossy().into_owned())
        .collect();
    let has_plain = streams
        .iter()
        .any(|p| property(p).is_some_and(|(tag, _)| tag == PLAIN_BODY));
    let mut groups = Groups::new(sink, max_cell_chars);
    let mut attachments = Vec::new();
    // A recipient's name and addresses, one group each.
    let mut recipients: BTreeMap<String, String> = BTreeMap::new();
    for path in &streams {
        let Some((tag, kind)) = property(path) else {
            continue;
        };
        let in_attachment = path.contains("/__attach_version1.0_");
        if tag == ATTACH_DATA && kind == BINARY {
            let name = attachment_name(&mut ole, path)
                .unwrap_or_else(|| format!("attachment-{}.bin", attachments.len() + 1));
            attachments.push(Entry::File {
                name,
                bytes: legacy::stream(&mut ole, path)?,
            });
            continue;
        }
        if in_attachment && ATTACH_META.contains(&tag) {
            continue;
        }
        let text = match kind {
            UNICODE => utf16(&legacy::stream(&mut ole, path)?),
            STRING8 => decode::decode(&legacy::stream(&mut ole, path)?)
                .text
                .into_owned(),
            BINARY if tag == HTML_BODY && !has_plain => {
                html_text(&decode::decode(&legacy::stream(&mut ole, path)?).text)
            }
            _ => continue,
        };
        match path.rsplit_once('/') {
            Some((dir, _)) if dir.contains("/__recip_version1.0_") => {
                let r = recipients.entry(dir.to_owned()).or_default();
                r.push(' ');
                r.push_str(&text.replace(['\r', '\n'], " "));
            }
            _ => groups.lines(&text),
        }
    }
    for r in recipients.values() {
        groups.paragraph(r);
    }
    Ok((groups.out, attachments))
}

/// The (tag, type) of a property stream's path.
fn property(path: &str) -> Option<(&str, &str)> {
    let name = path.rsplit('/').next()?;
    let id = name.strip_prefix("__substg1.0_")?;
    (id.len() == 8).then(|| id.split_at(4))
}

/// An attachment's long file name, else its short one.
fn attachment_name(ole: &mut cfb::CompoundFile<Cursor<&[u8]>>, data: &str) -> Option<String> {
    let dir = data.rsplit_once('/')?.0;
    ["3707", "3704"].iter().find_map(|tag| {
        let s = legacy::stream(ole, &format!("{dir}/__substg1.0_{tag}{UNICODE}")).ok()?;
        let name = utf16(&s);
        (!name.is_empty()).then_some(name)
    })
}

/// UTF-16LE, without the terminating zero MAPI strings may carry.
fn utf16(bytes: &[u8]) -> String {
    let units = bytes
        .chunks_exact(2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]));
    char::decode_utf16(units)
        .map(|c| c.unwrap_or('\u{FFFD}'))
        .collect::<String>()
        .trim_end_matches('\0')
        .to_owned()
}

/// An HTML body's text: tags dropped, a line for each row, paragraph or
/// break and a tab before each cell, the commonest entities resolved.
fn html_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            rest = "";
            break;
        };
        let tag = rest[open + 1..open + close].to_ascii_lowercase();
        let name = tag
            .split(|c: char| c.is_whitespace() || c == '/')
            .find(|n| !n.is_empty());
        match name.unwrap_or_default() {
            "br" | "p" | "div" | "tr" | "li" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6"
                if !tag.starts_with('/') || tag == "/p" || tag == "/div" =>
            {
                out.push('\n')
            }
            "td" | "th" if !tag.starts_with('/') => out.push('\t'),
            _ => {}
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::detect::{Found, Kind};

    const EML: &str = "Return-Path: <a@example.jp>\r\n\
From: =?ISO-2022-JP?B?GyRCOzNFRBsoQiAbJEJCQE86GyhC?= <taro@example.jp>\r\n\
To: hanako@example.jp\r\n\
Subject: =?UTF-8?B?6aGn5a6i5LiA6Kan?=\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\
\r\n\
--b\r\n\
Content-Type: text/plain; charset=ISO-2022-JP\r\n\
Content-Transfer-Encoding: 7bit\r\n\
\r\n\
\x1b$B#0#9#0\x1b(B-1234-5678\r\n\
--b\r\n\
Content-Type: text/csv; charset=Shift_JIS\r\n\
Content-Disposition: attachment; filename*=UTF-8''%E5%90%8D%E7%B0%BF.csv\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
MDMtMTExMS0yMjIyLGppcm9AZXhhbXBsZS5qcA0K\r\n\
--b--\r\n";

    #[test]
    fn a_message_gives_its_addresses_and_body_and_hands_back_its_attachments() {
        assert!(looks_like_eml(EML.as_bytes()));
        assert!(!looks_like_eml("氏名,電話\n山田,090\n\n".as_bytes()));
        assert!(!looks_like_eml(
            b"From: a\nSubject: no routing header\n\nbody"
        ));
        let mut f = Found::default();
        let (read, attachments) = read_eml(EML.as_bytes(), 32_767, &mut f).unwrap();
        assert_eq!(
            f.0,
            [
                (Kind::Email, "taro@example.jp".into(), 0),
                (Kind::Email, "hanako@example.jp".into(), 1),
                // The ISO-2022-JP body, full-width digits and all.
                (Kind::Phone, "09012345678".into(), 3),
            ]
        );
        assert_eq!(read.groups, 4);
        let [Entry::File { name, bytes }] = attachments.as_slice() else {
            panic!("one attachment");
        };
        assert_eq!(name, "名簿.csv");
        assert_eq!(bytes.as_slice(), b"03-1111-2222,jiro@example.jp\r\n");
    }

    #[test]
    fn an_outlook_message_gives_its_properties_and_attachments() {
        let mut ole = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
        let utf16 = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(u16::to_le_bytes).collect() };
        let mut put = |path: &str, bytes: &[u8]| {
            ole.create_stream(path).unwrap().write_all(bytes).unwrap();
        };
        put("/__properties_version1.0", &[0; 32]);
        put("/__substg1.0_0037001F", &utf16("ご依頼の件"));
        put(
            "/__substg1.0_1000001F",
            &utf16("折り返し先：０９０－１２３４－５６７８\r\n"),
        );
        put("/__substg1.0_10130102", b"<p>03-9999-0000</p>");
        ole.create_storage("/__recip_version1.0_#00000000").unwrap();
        let mut put = |path: &str, bytes: &[u8]| {
            ole.create_stream(path).unwrap().write_all(bytes).unwrap();
        };
        put(
            "/__recip_version1.0_#00000000/__substg1.0_3001001F",
            &utf16("ヤマダ タロウ"),
        );
        put(
            "/__recip_version1.0_#00000000/__substg1.0_39FE001F",
            &utf16("taro@example.jp\0"),
        );
        ole.create_storage("/__attach_version1.0_#00000000")
            .unwrap();
        let mut put = |path: &str, bytes: &[u8]| {
            ole.create_stream(path).unwrap().write_all(bytes).unwrap();
        };
        put(
            "/__attach_version1.0_#00000000/__substg1.0_3707001F",
            &utf16("顧客.csv"),
        );
        put(
            "/__attach_version1.0_#00000000/__substg1.0_37010102",
            b"x,y\r\n",
        );
        let bytes = ole.into_inner().into_inner();
        assert_eq!(
            legacy::compound(&bytes),
            Some(legacy::Compound::Read(crate::Format::Msg))
        );
        let mut f = Found::default();
        let (_, attachments) = read_msg(&bytes, 32_767, &mut f).unwrap();
        let mut found = f.0.clone();
        found.sort();
        assert_eq!(
            found,
            [
                (Kind::Phone, "09012345678".into(), 1),
                (Kind::Email, "taro@example.jp".into(), 2),
                (Kind::KanaName, "ヤマダタロウ".into(), 2),
            ],
            "the HTML body is not read beside the plain one; a recipient is one group"
        );
        let [Entry::File { name, bytes }] = attachments.as_slice() else {
            panic!("one attachment");
        };
        assert_eq!(
            (name.as_str(), bytes.as_slice()),
            ("顧客.csv", &b"x,y\r\n"[..])
        );
    }

    #[test]
    fn html_bodies_keep_their_lines_and_cells() {
        assert_eq!(
            html_text(
                "<table><tr><td>山田</td><td>090&nbsp;1234</td></tr></table><p>A &amp; B</p>x"
            ),
            "\n\t山田\t090 1234\nA & B\nx"
        );
    }
}
