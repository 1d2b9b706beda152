//! The course's Markdown as the docs tests read it (`tests/glossary.rs`,
//! `tests/quotes.rs`, `tests/terms.rs`): its pages, the blocks of prose
//! between its fenced code, and in them the code spans, the links and the
//! anchors. Only what those tests need, not a Markdown parser.

// Each test file uses only part of this file.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// The repository's root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One edition of the course: its folder, relative to the root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edition {
    English,
    Chinese,
}

impl Edition {
    pub const BOTH: [Edition; 2] = [Edition::English, Edition::Chinese];

    /// `docs` or `docs/zh-CN`.
    pub fn folder(self) -> &'static str {
        match self {
            Edition::English => "docs",
            Edition::Chinese => "docs/zh-CN",
        }
    }
}

/// A Markdown page: where it is (`docs/03-events.md`) and its text.
#[derive(Debug)]
pub struct Page {
    pub name: String,
    pub text: String,
}

impl Page {
    pub fn read(name: &str) -> Page {
        let text = fs::read_to_string(root().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        Page {
            name: name.to_string(),
            text,
        }
    }

    /// The file name alone: `03-events.md`.
    pub fn file(&self) -> &str {
        self.name.rsplit('/').next().unwrap_or(&self.name)
    }

    /// A chapter (`01-sockets.md` ... `06-beyond.md`), or the page on Rust
    /// that comes before them: the pages that teach.
    pub fn is_chapter(&self) -> bool {
        let file = self.file();
        file == "rust.md" || file.starts_with(|c: char| c.is_ascii_digit())
    }
}

/// Every Markdown page of an edition's folder (not its subfolders), by name.
pub fn pages(edition: Edition) -> Vec<Page> {
    let folder = root().join(edition.folder());
    let names: BTreeSet<String> = fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .collect();
    names
        .iter()
        .map(|name| Page::read(&format!("{}/{name}", edition.folder())))
        .collect()
}

/// What kind of block a run of prose lines is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `# ...`, one line.
    Heading,
    /// `> ...` lines.
    Quote,
    /// `| ... |` lines.
    Table,
    /// A line of HTML, such as `<a id="..."></a>`.
    Html,
    /// Anything else: a paragraph, a list.
    Prose,
}

/// A block: consecutive lines of one kind, outside fenced code, with the
/// number of its first line. Its text keeps the lines' line breaks.
#[derive(Debug)]
pub struct Block {
    pub line: usize,
    pub kind: Kind,
    pub text: String,
}

impl Block {
    /// The line of the page a byte of the block's text is on.
    pub fn line_of(&self, at: usize) -> usize {
        self.line + self.text[..at].matches('\n').count()
    }
}

fn kind_of(line: &str) -> Kind {
    let trimmed = line.trim_start();
    if trimmed.starts_with('#') {
        Kind::Heading
    } else if trimmed.starts_with('>') {
        Kind::Quote
    } else if trimmed.starts_with('|') {
        Kind::Table
    } else if trimmed.starts_with('<') {
        Kind::Html
    } else {
        Kind::Prose
    }
}

/// The blocks of a page, in order. Fenced code (three or more backticks,
/// possibly indented, closed by at least as many) is left out, and so is
/// the line under the title that leads to the other edition.
pub fn blocks(text: &str) -> Vec<Block> {
    let mut blocks: Vec<Block> = Vec::new();
    let mut fence: Option<usize> = None;
    let mut open = false; // the last block may take the next line
    for (number, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let ticks = trimmed.chars().take_while(|&c| c == '`').count();
        match fence {
            Some(opened) => {
                if ticks >= opened && trimmed[ticks..].trim().is_empty() {
                    fence = None;
                }
                continue;
            }
            None if ticks >= 3 => {
                fence = Some(ticks);
                open = false;
                continue;
            }
            None => {}
        }
        let language_line = trimmed.starts_with("[中文](") || trimmed.starts_with("[English](");
        if trimmed.is_empty() || language_line {
            open = false;
            continue;
        }
        let kind = kind_of(line);
        match blocks.last_mut() {
            Some(last) if open && last.kind == kind && kind != Kind::Heading => {
                last.text.push('\n');
                last.text.push_str(line);
            }
            _ => blocks.push(Block {
                line: number + 1,
                kind,
                text: line.to_string(),
            }),
        }
        open = kind != Kind::Heading;
    }
    blocks
}

/// The code spans of a block: the byte ranges of `` `...` ``, backticks
/// included. A span opened by N backticks is closed by exactly N.
pub fn code_spans(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'`' {
            i += 1;
            continue;
        }
        let run = bytes[i..].iter().take_while(|&&b| b == b'`').count();
        let mut j = i + run;
        let mut closed = None;
        while j < bytes.len() {
            if bytes[j] == b'`' {
                let other = bytes[j..].iter().take_while(|&&b| b == b'`').count();
                if other == run {
                    closed = Some(j + other);
                    break;
                }
                j += other;
            } else {
                j += 1;
            }
        }
        match closed {
            Some(end) => {
                spans.push(i..end);
                i = end;
            }
            None => i += run,
        }
    }
    spans
}

fn inside(spans: &[Range<usize>], at: usize) -> Option<&Range<usize>> {
    spans.iter().find(|span| span.contains(&at))
}

/// A link: the byte range of its text (between the brackets) and its
/// target (between the parentheses).
#[derive(Debug)]
pub struct Link {
    pub text: Range<usize>,
    pub target: String,
    /// The byte range of the whole link, `[` to `)`.
    pub whole: Range<usize>,
}

/// The inline links of a block, `[text](target)`, outside code spans.
/// Images (`![..](..)`) are left out.
pub fn links(text: &str) -> Vec<Link> {
    let code = code_spans(text);
    let bytes = text.as_bytes();
    let mut links = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if let Some(span) = inside(&code, i) {
            i = span.end;
            continue;
        }
        let escaped = i > 0 && bytes[i - 1] == b'\\';
        if bytes[i] != b'[' || escaped || (i > 0 && bytes[i - 1] == b'!') {
            i += 1;
            continue;
        }
        // The matching `]`, skipping code spans and nested brackets.
        let mut depth = 0;
        let mut j = i + 1;
        let mut close = None;
        while j < bytes.len() {
            if let Some(span) = inside(&code, j) {
                j = span.end;
                continue;
            }
            match bytes[j] {
                b'[' => depth += 1,
                b']' if depth == 0 => {
                    close = Some(j);
                    break;
                }
                b']' => depth -= 1,
                _ => {}
            }
            j += 1;
        }
        let Some(close) = close else {
            i += 1;
            continue;
        };
        if bytes.get(close + 1) != Some(&b'(') {
            i = close + 1;
            continue;
        }
        let Some(end) = text[close + 2..].find(')').map(|at| close + 2 + at) else {
            i = close + 1;
            continue;
        };
        links.push(Link {
            text: i + 1..close,
            target: text[close + 2..end].trim().to_string(),
            whole: i..end + 1,
        });
        i = end + 1;
    }
    links
}

/// The block's text with what a reader does not read as words blanked out,
/// byte for byte (so that offsets still hold): link targets, HTML tags,
/// and code spans, except, if `names` is true, those that are one word of
/// code (`` `SO_RCVTIMEO` ``, `` `'drain'` ``; not a command or a program's
/// output, which have spaces).
pub fn words(text: &str, names: bool) -> String {
    let mut blank: Vec<Range<usize>> = Vec::new();
    for link in links(text) {
        blank.push(link.text.end..link.whole.end);
    }
    let spans = code_spans(text);
    for span in &spans {
        if !names
            || text[span.clone()]
                .trim_matches('`')
                .contains(char::is_whitespace)
        {
            blank.push(span.clone());
        }
    }
    // HTML tags outside code spans: `<` and a letter or `/`, up to `>`.
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if let Some(span) = inside(&spans, i) {
            i = span.end;
            continue;
        }
        let tag = bytes[i] == b'<'
            && bytes
                .get(i + 1)
                .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'/');
        if tag {
            if let Some(end) = text[i..].find('>') {
                blank.push(i..i + end + 1);
                i += end + 1;
                continue;
            }
        }
        i += 1;
    }
    blanked(text, &blank)
}

/// The text with the given byte ranges blanked out (spaces for every byte
/// but line breaks), so that offsets still hold.
pub fn blanked(text: &str, ranges: &[Range<usize>]) -> String {
    let mut out = text.as_bytes().to_vec();
    for range in ranges {
        for byte in &mut out[range.clone()] {
            if *byte != b'\n' {
                *byte = b' ';
            }
        }
    }
    // Whole characters were blanked, so this is still UTF-8.
    String::from_utf8(out).expect("blanking whole characters keeps UTF-8")
}

/// The id mdBook (and GitHub) gives a heading: its text without Markdown,
/// lower-cased, letters, digits, `_` and `-` kept, spaces made `-`,
/// everything else dropped.
pub fn slug(heading: &str) -> String {
    let text = heading.trim_start_matches('#').trim();
    // A link in a heading counts by its text.
    let mut plain = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        plain.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match (after.find("]("), after.find(')')) {
            (Some(close), Some(end)) if close < end => {
                plain.push_str(&after[..close]);
                rest = &after[end + 1..];
            }
            _ => {
                plain.push('[');
                rest = after;
            }
        }
    }
    plain.push_str(rest);
    plain
        .chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                Some(c.to_lowercase().collect::<String>())
            } else if c.is_whitespace() {
                Some("-".to_string())
            } else {
                None
            }
        })
        .collect()
}

/// The anchors a page has: its headings' ids (a repeated one gets `-1`,
/// `-2`, ... as in mdBook) and every `id="..."` of its HTML.
pub fn anchors(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for block in blocks(text) {
        match block.kind {
            Kind::Heading => {
                let base = slug(&block.text);
                let mut id = base.clone();
                let mut n = 0;
                while found.contains(&id) {
                    n += 1;
                    id = format!("{base}-{n}");
                }
                found.insert(id);
            }
            _ => found.extend(html_ids(&block.text)),
        }
    }
    found
}

/// The values of the `id="..."` attributes in a piece of text.
pub fn html_ids(text: &str) -> Vec<String> {
    text.match_indices(" id=\"")
        .filter_map(|(at, found)| {
            let start = at + found.len();
            text[start..]
                .find('"')
                .map(|end| text[start..start + end].to_string())
        })
        .collect()
}

/// Where a relative link from `page` (a path from the root) leads: the path
/// from the root, normalised, and the anchor, if any. `None` for a link out
/// of the repository's files (`https:`, `mailto:`).
pub fn resolve(page: &str, target: &str) -> Option<(String, Option<String>)> {
    if target.contains("://") || target.starts_with("mailto:") {
        return None;
    }
    let (path, anchor) = match target.split_once('#') {
        Some((path, anchor)) => (path, Some(anchor.to_string())),
        None => (target, None),
    };
    if path.is_empty() {
        return Some((page.to_string(), anchor));
    }
    let mut parts: Vec<&str> = page.split('/').collect();
    parts.pop(); // the page's own file name
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    Some((parts.join("/"), anchor))
}

/// Whether `path` (from the root) is a file or folder of the repository.
pub fn exists(path: &str) -> bool {
    Path::new(&root().join(path)).exists()
}

/// Whether the text holds a Chinese ideograph.
pub fn has_ideograph(text: &str) -> bool {
    text.chars()
        .any(|c| matches!(c, '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}'))
}

/// The cells of a table row: the byte ranges between its unescaped `|`s
/// (a `\|` inside a cell, as in `` `\|\| Greeter` ``, is not a border).
pub fn cells(row: &str) -> Vec<Range<usize>> {
    let bytes = row.as_bytes();
    let mut borders: Vec<usize> = (0..bytes.len())
        .filter(|&i| bytes[i] == b'|' && (i == 0 || bytes[i - 1] != b'\\'))
        .collect();
    if borders.first() != Some(&0) && !row.trim_start().starts_with('|') {
        borders.insert(0, 0);
    }
    borders.windows(2).map(|w| w[0] + 1..w[1]).collect()
}

/// The words of a document's name, which, earlier in the same sentence,
/// make a Chinese quotation a quote of that document: `文档 A 说：“...”`,
/// `原文写道：“...”`.
const ATTRIBUTIONS: [&str; 3] = ["文档", "原文", "原话"];

/// The spans of a block that quote one of the two documents, as byte
/// ranges of `block.text`:
///
/// - a quote block (`> ...`): each line, after its `>`;
/// - a table column headed "doc A says" (or its translation, "which
///   means"), "the transcript says", "文档 A 原文" or "运行记录...": its
///   cells, or the code spans in them;
/// - in the English edition, a run of words with Chinese in it (code spans
///   aside: `` `连接断开` `` is a program's output, not a quote);
/// - in the Chinese edition, a quotation (`“...”`, `「...」`) in a sentence
///   that names a document before it, or anywhere on `errata.md`, whose every
///   quotation is of the documents.
pub fn quotes(block: &Block, edition: Edition, page: &str) -> Vec<Range<usize>> {
    let text = &block.text;
    let mut found = Vec::new();
    match block.kind {
        Kind::Heading | Kind::Html => {}
        Kind::Quote => {
            let mut at = 0;
            for line in text.split('\n') {
                let marker = line.find('>').map_or(0, |m| m + 1);
                let content = line[marker..].trim();
                if !content.is_empty() {
                    let start = at + marker + line[marker..].find(content).unwrap();
                    found.push(start..start + content.len());
                }
                at += line.len() + 1;
            }
        }
        Kind::Table | Kind::Prose => {
            if block.kind == Kind::Table {
                let header = text.split('\n').next().unwrap_or("");
                // (column, whether only its code spans quote: a transcript's
                // column holds notes too)
                let columns: Vec<(usize, bool)> = cells(header)
                    .into_iter()
                    .enumerate()
                    .filter_map(|(i, cell)| {
                        let name = &header[cell];
                        let transcript = name.contains("transcript") || name.contains("运行记录");
                        let quoting = ["says", "which means", "原文"]
                            .iter()
                            .any(|h| name.contains(h));
                        (quoting || transcript).then_some((i, transcript))
                    })
                    .collect();
                let mut at = 0;
                for (n, row) in text.split('\n').enumerate() {
                    if n >= 2 {
                        for (i, cell) in cells(row).into_iter().enumerate() {
                            let content = row[cell.clone()].trim();
                            let Some(&(_, code_only)) = columns.iter().find(|(c, _)| *c == i)
                            else {
                                continue;
                            };
                            if content.is_empty() {
                                continue;
                            }
                            let start = at + cell.start + row[cell.clone()].find(content).unwrap();
                            // A cell that quotes in code spans (`客户端连接`, then
                            // a note) quotes only what is in them.
                            let code = code_spans(content);
                            if code.is_empty() && !code_only {
                                found.push(start..start + content.len());
                            }
                            for span in code {
                                found.push(start + span.start + 1..start + span.end - 1);
                            }
                        }
                    }
                    at += row.len() + 1;
                }
            }
            let more = match edition {
                Edition::English => chinese_runs(text),
                Edition::Chinese => attributed_quotations(text, page.ends_with("errata.md")),
            };
            for span in more {
                if !found
                    .iter()
                    .any(|f| f.start <= span.start && span.end <= f.end)
                {
                    found.push(span);
                }
            }
        }
    }
    found.sort_by_key(|r| r.start);
    found
}

/// English prose: the runs of words that hold Chinese outside code spans.
/// A run goes from space to space (a code span, spaces and all, is part of
/// the word around it), less the punctuation of the English sentence
/// around it: `(`, `*` before it; `,`, `.`, `;`, `:`, `)`, `*` after it.
fn chinese_runs(text: &str) -> Vec<Range<usize>> {
    let code = code_spans(text);
    let mut runs = Vec::new();
    let mut start: Option<usize> = None;
    let mut i = 0;
    let push = |start: usize, end: usize, runs: &mut Vec<Range<usize>>| {
        let word = &text[start..end];
        let outside: String = {
            let mut s = String::new();
            let mut j = start;
            while j < end {
                if let Some(span) = inside(&code, j) {
                    j = span.end;
                } else {
                    let c = text[j..].chars().next().unwrap();
                    s.push(c);
                    j += c.len_utf8();
                }
            }
            s
        };
        if has_ideograph(&outside) {
            let lead = word.len() - word.trim_start_matches(['(', '*', '"']).len();
            let trimmed = word.trim_end_matches([',', '.', ';', ':', ')', '*', '"']);
            // "..." ends a quote that is cut short: keep it.
            let trimmed = if word[trimmed.len()..].starts_with("...") {
                &word[..trimmed.len() + 3]
            } else {
                trimmed
            };
            if lead < trimmed.len() {
                runs.push(start + lead..start + trimmed.len());
            }
        }
    };
    while i < text.len() {
        if let Some(span) = inside(&code, i) {
            start.get_or_insert(i);
            i = span.end;
            continue;
        }
        let c = text[i..].chars().next().unwrap();
        if c.is_whitespace() {
            if let Some(s) = start.take() {
                push(s, i, &mut runs);
            }
        } else {
            start.get_or_insert(i);
        }
        i += c.len_utf8();
    }
    if let Some(s) = start {
        push(s, text.len(), &mut runs);
    }
    runs
}

/// Chinese prose: the quotations (inside `“”` or `「」`, marks excluded)
/// whose sentence names a document before them, or all of them.
fn attributed_quotations(text: &str, all: bool) -> Vec<Range<usize>> {
    let code = code_spans(text);
    let mut found = Vec::new();
    for (open, close) in [('“', '”'), ('「', '」')] {
        let mut from = 0;
        while let Some(at) = text[from..].find(open).map(|a| from + a) {
            if inside(&code, at).is_some() {
                from = at + open.len_utf8();
                continue;
            }
            let body = at + open.len_utf8();
            let Some(end) = text[body..].find(close).map(|e| body + e) else {
                break;
            };
            let sentence = text[..at]
                .rfind(['。', '！', '？', '|', '\n'])
                .map_or(0, |s| s + text[s..].chars().next().unwrap().len_utf8());
            let named = ATTRIBUTIONS.iter().any(|w| text[sentence..at].contains(w));
            if (all || named) && has_ideograph(&text[body..end]) {
                found.push(body..end);
            }
            from = end + close.len_utf8();
        }
    }
    found
}
