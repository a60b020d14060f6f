//! A small PDF typesetter for the morning brief: headings, paragraphs and
//! small print, wrapped to an A4 page and broken over pages, in PDF's
//! built-in Helvetica (every reader has it, so nothing is embedded; it has
//! every letter Indonesian needs). Written with `pdf-writer`, a plain PDF
//! writer without layout, fonts or images of its own: it builds in seconds,
//! where a typesetter such as typst takes minutes. The output is a pure
//! function of the blocks and the date, so the same brief gives the same
//! bytes.

use pdf_writer::{Content, Date, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use time::OffsetDateTime;

/// One block of the document, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// The document's title, large and bold.
    Title(String),
    /// A section heading, bold.
    Heading(String),
    /// Body text, wrapped.
    Text(String),
    /// Smaller, grey text, wrapped (a link, a note).
    Small(String),
    /// A gap.
    Space,
}

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 50.0;

/// Helvetica's advance widths (per 1,000 units of the font size) for the
/// characters 32 to 126, from its Adobe font metrics.
const WIDTHS: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // space to /
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // 0 to 9
    278, 278, 584, 584, 584, 556, 1015, // : to @
    667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944,
    667, 667, 611, // A to Z
    278, 278, 278, 469, 556, 333, // [ to `
    556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722,
    500, 500, 500, // a to z
    334, 260, 334, 584, // { to ~
];

/// The width of `text` at `size` points; bold is taken as a tenth wider,
/// which is never narrower than Helvetica-Bold.
fn width(text: &[u8], size: f32, bold: bool) -> f32 {
    let units: u32 =
        text.iter().map(|&b| if (32..127).contains(&b) { u32::from(WIDTHS[usize::from(b - 32)]) } else { 667 }).sum();
    units as f32 * size / 1000.0 * if bold { 1.1 } else { 1.0 }
}

/// `text` in WinAnsiEncoding, the encoding the built-in fonts are used
/// with: ASCII and Latin-1 as they are, typographic quotes and dashes to
/// their places, anything else (emoji, other scripts) as `?`. Control
/// characters become spaces.
pub fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '\u{2018}' => 0x91,
            '\u{2019}' => 0x92,
            '\u{201c}' => 0x93,
            '\u{201d}' => 0x94,
            '\u{2022}' => 0x95,
            '\u{2013}' => 0x96,
            '\u{2014}' => 0x97,
            '\u{2026}' => 0x85,
            '\u{20ac}' => 0x80,
            c if c.is_control() => b' ',
            _ => b'?',
        })
        .collect()
}

/// `text` broken into lines no wider than `max` points; a word longer than
/// a line is cut.
fn wrap(text: &[u8], size: f32, bold: bool, max: f32) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    for paragraph in text.split(|&b| b == b'\n') {
        let mut line: Vec<u8> = Vec::new();
        for word in paragraph.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
            let mut word = word.to_vec();
            let joined = if line.is_empty() { word.clone() } else { [&line[..], b" ", &word[..]].concat() };
            if width(&joined, size, bold) <= max {
                line = joined;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            while width(&word, size, bold) > max {
                let mut cut = word.len();
                while cut > 1 && width(&word[..cut], size, bold) > max {
                    cut -= 1;
                }
                lines.push(word[..cut].to_vec());
                word.drain(..cut);
            }
            line = word;
        }
        lines.push(line);
    }
    lines
}

/// Escapes nothing: `Str` writes its bytes as a PDF string with its own
/// escaping of brackets and backslashes.
struct Line {
    font: &'static [u8],
    size: f32,
    grey: bool,
    text: Vec<u8>,
    /// Space before it, in points.
    before: f32,
}

/// The PDF of `blocks`, titled `title`, dated `at`.
pub fn document(title: &str, blocks: &[Block], at: OffsetDateTime) -> Vec<u8> {
    let max = PAGE_W - 2.0 * MARGIN;
    let mut lines: Vec<Line> = Vec::new();
    for block in blocks {
        let (font, size, grey, before, text): (&'static [u8], f32, bool, f32, &str) = match block {
            Block::Title(t) => (b"F2", 17.0, false, 0.0, t),
            Block::Heading(t) => (b"F2", 12.5, false, 10.0, t),
            Block::Text(t) => (b"F1", 10.0, false, 1.0, t),
            Block::Small(t) => (b"F1", 8.0, true, 0.0, t),
            Block::Space => {
                lines.push(Line { font: b"F1", size: 6.0, grey: false, text: Vec::new(), before: 0.0 });
                continue;
            }
        };
        for (i, text) in wrap(&win_ansi(text), size, font == b"F2", max).into_iter().enumerate() {
            lines.push(Line { font, size, grey, text, before: if i == 0 { before } else { 0.0 } });
        }
    }

    // pages: each a list of (line, y)
    let mut pages: Vec<Vec<(usize, f32)>> = vec![Vec::new()];
    let mut y = PAGE_H - MARGIN;
    for (i, line) in lines.iter().enumerate() {
        let step = line.before + line.size * 1.3;
        if y - step < MARGIN + 20.0 && !pages.last().is_some_and(Vec::is_empty) {
            pages.push(Vec::new());
            y = PAGE_H - MARGIN;
        }
        y -= step;
        pages.last_mut().expect("a page").push((i, y));
    }

    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let info = Ref::new(5);
    let first = 6;
    let page_ids: Vec<Ref> = (0..pages.len()).map(|n| Ref::new(first + 2 * n as i32)).collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids(page_ids.iter().copied()).count(pages.len() as i32);
    pdf.type1_font(regular).base_font(Name(b"Helvetica")).encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold).base_font(Name(b"Helvetica-Bold")).encoding_predefined(Name(b"WinAnsiEncoding"));
    let date = Date::new(at.year() as u16)
        .month(u8::from(at.month()))
        .day(at.day())
        .hour(at.hour())
        .minute(at.minute())
        .second(at.second())
        .utc_offset_hour(0)
        .utc_offset_minute(0);
    pdf.document_info(info).title(TextStr(title)).producer(TextStr("kentongan")).creation_date(date);
    let count = pages.len();
    for (n, placed) in pages.into_iter().enumerate() {
        let page_id = page_ids[n];
        let content_id = Ref::new(page_id.get() + 1);
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H));
        page.parent(tree);
        page.contents(content_id);
        page.resources().fonts().pair(Name(b"F1"), regular).pair(Name(b"F2"), bold);
        page.finish();
        let mut content = Content::new();
        for (i, y) in placed {
            let line = &lines[i];
            if line.text.is_empty() {
                continue;
            }
            let shade = if line.grey { 0.35 } else { 0.0 };
            content.set_fill_gray(shade);
            content.begin_text();
            content.set_font(Name(line.font), line.size);
            content.next_line(MARGIN, y);
            content.show(Str(&line.text));
            content.end_text();
        }
        let footer = win_ansi(&format!("{title} - halaman {} dari {count}", n + 1));
        content.set_fill_gray(0.35);
        content.begin_text();
        content.set_font(Name(b"F1"), 8.0);
        content.next_line(MARGIN, MARGIN - 20.0);
        content.show(Str(&footer));
        content.end_text();
        pdf.stream(content_id, &content.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_wrap_to_the_page_and_long_words_are_cut() {
        let text = win_ansi(&"kata ".repeat(60));
        let lines = wrap(&text, 10.0, false, 200.0);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| width(l, 10.0, false) <= 200.0));
        let long = wrap(&[b'W'; 100], 10.0, false, 100.0);
        assert!(long.len() >= 9 && long.iter().all(|l| width(l, 10.0, false) <= 100.0), "{long:?}");
        assert_eq!(wrap(b"a\nb", 10.0, false, 100.0), [b"a".to_vec(), b"b".to_vec()]);
    }

    #[test]
    fn text_is_written_in_win_ansi() {
        assert_eq!(win_ansi("Sulawesi – “aman” é 🙂"), b"Sulawesi \x96 \x93aman\x94 \xe9 ?".to_vec());
    }

    #[test]
    fn many_lines_make_several_pages_and_the_same_input_the_same_bytes() {
        let at = time::macros::datetime!(2026-12-01 06:00 UTC);
        let blocks: Vec<Block> = (0..200).map(|i| Block::Text(format!("Baris {i}"))).collect();
        let pdf = document("Uji", &blocks, at);
        assert!(pdf.starts_with(b"%PDF-"));
        let pages = pdf.windows(b"/Type /Page\n".len()).filter(|w| *w == b"/Type /Page\n").count();
        assert!(pages >= 3, "{pages} pages");
        assert_eq!(pdf, document("Uji", &blocks, at));
    }
}
