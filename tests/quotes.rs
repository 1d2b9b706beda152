//! Every quote of the two documents can be checked: each span of a page
//! that quotes doc A or doc B, in either edition, occurs in that edition's
//! appendix of sources (`sources.md`), byte for byte, which is the
//! repository's only copy of the documents. And the two appendices hold
//! the same quotations.
//!
//! What counts as a quote is [`markdown::quotes`]: quote blocks (`> ...`),
//! the "doc A says" columns of chapter 3, in the English edition any run
//! of words with Chinese in it, in the Chinese edition a quotation whose
//! sentence names a document. A quote cut short with `...` (or `…`) is
//! checked piece by piece.

mod markdown;

use markdown::{Edition, Kind, Page};

/// Chinese words the English edition uses as words, not as quotes: the
/// usual names that errata 20 gives for the documents' unusual ones, and
/// the terms for what TCP does to writes.
const NOT_QUOTES: &[&str] = &["数据报", "用户数据报协议", "数据链路层", "粘包", "拆包"];

/// What the appendix of an edition quotes of the documents, as a reader
/// copies it: its quote blocks (after their `>`), its fenced code, its
/// headings (the documents' titles), without Markdown's escapes
/// (`\[callback\]`) and backticks. Its own prose, which says what the
/// documents say, is not a source.
fn appendix(edition: Edition) -> String {
    let page = Page::read(&format!("{}/sources.md", edition.folder()));
    let mut quoted = String::new();
    let mut fence = false;
    for line in page.text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            fence = !fence;
            continue;
        }
        if fence || trimmed.starts_with('#') {
            quoted.push_str(line);
        } else if let Some(rest) = trimmed.strip_prefix('>') {
            quoted.push_str(rest.trim());
        }
        quoted.push('\n');
    }
    plain(&quoted)
}

/// A quote as compared: without Markdown's escapes and code marks.
fn plain(text: &str) -> String {
    text.replace("\\[", "[")
        .replace("\\]", "]")
        .replace('`', "")
}

/// The pieces of a quote to look for: cut at `...`, `…` and `……`, each
/// piece trimmed, without Markdown's bold or italic marks around it.
fn pieces(quote: &str) -> Vec<String> {
    quote
        .replace('…', "...")
        .split("...")
        .map(|piece| plain(piece.trim().trim_matches('*').trim()))
        .filter(|piece| markdown::has_ideograph(piece))
        .collect()
}

/// The quotes of a page that its appendix does not hold, one line each.
fn unsourced(page: &Page, edition: Edition, sources: &str) -> (usize, Vec<String>) {
    let mut checked = 0;
    let mut missing = Vec::new();
    for block in markdown::blocks(&page.text) {
        for span in markdown::quotes(&block, edition, &page.name) {
            for piece in pieces(&block.text[span.clone()]) {
                if edition == Edition::English && NOT_QUOTES.contains(&piece.as_str()) {
                    continue;
                }
                checked += 1;
                // A quote may run over a line break in the page.
                let piece = piece.replace('\n', " ");
                if !sources.contains(&piece) {
                    missing.push(format!(
                        "{}:{}: «{piece}» is not in {}/sources.md",
                        page.name,
                        block.line_of(span.start),
                        edition.folder()
                    ));
                }
            }
        }
    }
    (checked, missing)
}

#[test]
fn every_quote_of_the_documents_is_in_the_appendix() {
    let mut missing = Vec::new();
    let mut checked = 0;
    for edition in Edition::BOTH {
        let sources = appendix(edition);
        for page in markdown::pages(edition) {
            if page.file() == "sources.md" {
                continue;
            }
            let (n, m) = unsourced(&page, edition, &sources);
            checked += n;
            missing.extend(m);
        }
    }
    assert!(missing.is_empty(), "\n{}", missing.join("\n"));
    assert!(
        checked > 50,
        "only {checked} quotes found: is the search broken?"
    );
    println!("quotes: {checked} quoted spans, every one in its edition's appendix");
}

#[test]
fn both_appendices_quote_the_same_words() {
    // What the documents say, in the appendices' quote blocks, is the same
    // in both editions (their code blocks are checked by tests/translation.rs).
    let quoted = |edition: Edition| -> Vec<String> {
        let page = Page::read(&format!("{}/sources.md", edition.folder()));
        markdown::blocks(&page.text)
            .iter()
            .filter(|block| block.kind == Kind::Quote)
            .flat_map(|block| {
                markdown::quotes(block, edition, &page.name)
                    .into_iter()
                    .map(|span| block.text[span].to_string())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let english = quoted(Edition::English);
    let chinese = quoted(Edition::Chinese);
    assert!(english.len() > 10, "{english:?}");
    assert_eq!(english, chinese, "the quote blocks of the two appendices");
}

#[test]
fn a_quote_the_appendix_lacks_is_caught() {
    let sources = "TCP全名为传输控制协议,在osi模型(由七层组成,分为物理层)中属于传输层协议.\n";
    let found = |edition: Edition, text: &str| {
        unsourced(
            &Page {
                name: "docs/test.md".to_string(),
                text: text.to_string(),
            },
            edition,
            sources,
        )
    };
    // English: a run of Chinese is a quote; a program's output in a code
    // span is not; a quote cut short is checked in pieces.
    let (n, missing) = found(
        Edition::English,
        "Doc A says 由七层组成 and 分为物理层,... but not 容易丢包, and prints `连接断开`.\n",
    );
    assert_eq!(n, 3);
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert!(missing[0].contains("容易丢包"), "{missing:?}");
    // Chinese: a quotation whose sentence names a document is a quote; one
    // that does not is the course's own words.
    let (n, missing) = found(
        Edition::Chinese,
        "文档 A 说它“由七层组成”，又说“容易丢包”。TCP 的“粘包”不是 bug。\n",
    );
    assert_eq!(n, 2);
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert!(missing[0].contains("容易丢包"), "{missing:?}");
}
