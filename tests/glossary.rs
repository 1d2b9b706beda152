//! The glossary (`docs/glossary.md`, `docs/zh-CN/glossary.md`) and the page
//! on Rust (`rust.md`) are where a newcomer looks up a word; these tests
//! keep the chapters pointing there, and every link of the course leading
//! somewhere:
//!
//! - each term of the glossary is linked from its first use in each chapter
//!   that uses it (and from the page on Rust), in both editions; a term's
//!   uses are the words of [`TERMS`];
//! - both editions' glossaries define the same terms, in the same order;
//! - every entry of the page on Rust is linked from a chapter;
//! - every relative link of every page, in both editions and the READMEs,
//!   leads to a file of the repository, and its `#anchor` to a heading or an
//!   `id` of that page.

mod markdown;

use markdown::{Edition, Kind, Page};
use std::collections::BTreeSet;

/// A term of the glossary: its anchor (`<a id="...">` in both editions),
/// and the words that are a use of it, in English and in Chinese. An
/// English word also counts capitalised; a word that starts or ends with a
/// letter or digit counts only as a whole word.
struct Term {
    id: &'static str,
    en: &'static [&'static str],
    zh: &'static [&'static str],
}

const TERMS: &[Term] = &[
    Term {
        id: "handshake",
        en: &["three-way handshake", "handshake", "handshakes", "SYN"],
        zh: &["三次握手", "握手", "SYN"],
    },
    Term {
        id: "ephemeral-port",
        en: &["ephemeral port", "ephemeral ports", "ephemeral"],
        zh: &["临时端口"],
    },
    Term {
        id: "fin-rst",
        en: &["FIN", "FINs", "RST"],
        zh: &["FIN", "RST"],
    },
    Term {
        id: "half-close",
        en: &["half-close", "half-closes", "half-closed", "half-open"],
        zh: &["半关闭", "半打开"],
    },
    Term {
        id: "drain",
        en: &["'drain'", "drain", "drains", "drained", "draining"],
        zh: &["'drain'", "排空"],
    },
    Term {
        id: "loopback",
        en: &["loopback"],
        zh: &["回环"],
    },
    Term {
        id: "descriptor",
        en: &[
            "file descriptor",
            "file descriptors",
            "descriptor",
            "descriptors",
        ],
        zh: &["文件描述符", "描述符"],
    },
    Term {
        id: "errno",
        en: &[
            "ECONNREFUSED",
            "ECONNRESET",
            "EPIPE",
            "EADDRINUSE",
            "EMFILE",
            "EMSGSIZE",
        ],
        zh: &[
            "ECONNREFUSED",
            "ECONNRESET",
            "EPIPE",
            "EADDRINUSE",
            "EMFILE",
            "EMSGSIZE",
        ],
    },
    Term {
        id: "wouldblock",
        en: &["WouldBlock", "Resource temporarily unavailable", "EAGAIN"],
        zh: &["WouldBlock", "Resource temporarily unavailable", "EAGAIN"],
    },
    Term {
        id: "so-rcvtimeo",
        en: &["SO_RCVTIMEO", "SO_SNDTIMEO"],
        zh: &["SO_RCVTIMEO", "SO_SNDTIMEO"],
    },
    Term {
        id: "idle-timeout",
        en: &["idle timeout", "idle timeouts"],
        zh: &["空闲超时"],
    },
    Term {
        id: "backlog",
        en: &["backlog", "backlogs"],
        zh: &["积压队列", "积压"],
    },
    Term {
        id: "seats",
        en: &["seat", "seats"],
        zh: &["连接名额"],
    },
    Term {
        id: "event-loop",
        en: &["event loop", "event loops"],
        zh: &["事件循环"],
    },
    Term {
        id: "framing",
        en: &["framing"],
        zh: &["分帧", "粘包", "拆包"],
    },
    Term {
        id: "sendq",
        en: &["SendQ", "SendQs", "outbox", "outboxes", "pen", "pens"],
        zh: &["发送队列", "SendQ", "发件箱", "写入权"],
    },
    Term {
        id: "backpressure",
        en: &["backpressure"],
        zh: &["背压"],
    },
    Term {
        id: "flood-control",
        en: &["flood control", "flood-controlled"],
        zh: &["限流"],
    },
    Term {
        id: "eviction",
        en: &[
            "evict",
            "evicts",
            "evicted",
            "evicting",
            "eviction",
            "evictions",
        ],
        zh: &["踢出"],
    },
    Term {
        id: "writev",
        en: &["writev", "write_vectored"],
        zh: &["writev", "write_vectored"],
    },
    Term {
        id: "nagle",
        en: &["Nagle", "Nagle's", "delayed ACK", "delayed ACKs"],
        zh: &["Nagle", "延迟 ACK"],
    },
    Term {
        id: "percentile",
        en: &["p50", "p99", "percentile", "percentiles"],
        zh: &["p50", "p99", "百分位", "分位"],
    },
    Term {
        id: "datagram",
        en: &["datagram", "datagrams", "MTU"],
        zh: &["数据报", "MTU"],
    },
    Term {
        id: "e0373",
        en: &["E0373"],
        zh: &["E0373"],
    },
];

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Where `form` occurs in `text` as a use: as a whole word when it starts
/// (ends) with a letter or digit.
fn occurrences(text: &str, form: &str) -> Vec<usize> {
    let first_is_word = form.starts_with(is_word);
    let last_is_word = form.ends_with(is_word);
    text.match_indices(form)
        .map(|(at, _)| at)
        .filter(|&at| {
            let before = text[..at].chars().next_back();
            let after = text[at + form.len()..].chars().next();
            let cuts_a_word_before = first_is_word && before.is_some_and(is_word);
            let cuts_a_word_after = last_is_word && after.is_some_and(is_word);
            !cuts_a_word_before && !cuts_a_word_after
        })
        .collect()
}

/// The words that are a use of a term in an edition, English ones also
/// capitalised.
fn forms(term: &Term, edition: Edition) -> Vec<String> {
    let words = match edition {
        Edition::English => term.en,
        Edition::Chinese => term.zh,
    };
    let mut forms: Vec<String> = words.iter().map(|w| w.to_string()).collect();
    if edition == Edition::English {
        for word in words {
            let mut chars = word.chars();
            if let Some(first) = chars.next().filter(char::is_ascii_lowercase) {
                forms.push(first.to_ascii_uppercase().to_string() + chars.as_str());
            }
        }
    }
    forms
}

/// The first use of a term on a page: the block and the byte range in it.
/// Headings, quotes of the documents and HTML do not count; link targets
/// and HTML tags are not words.
fn first_use<'a>(
    blocks: &'a [markdown::Block],
    forms: &[String],
    edition: Edition,
    page: &str,
) -> Option<(&'a markdown::Block, std::ops::Range<usize>)> {
    for block in blocks {
        if matches!(block.kind, Kind::Heading | Kind::Quote | Kind::Html) {
            continue;
        }
        // Quotes of the documents are theirs, not ours to link; line breaks
        // are spaces: "event\nloop" is "event loop".
        let words = markdown::words(&block.text, true);
        let quotes = markdown::quotes(block, edition, page);
        let words = markdown::blanked(&words, &quotes).replace('\n', " ");
        let found = forms
            .iter()
            .flat_map(|form| {
                occurrences(&words, form)
                    .into_iter()
                    .map(move |at| (at, form.len()))
            })
            .min_by_key(|&(at, len)| (at, std::cmp::Reverse(len)));
        if let Some((at, len)) = found {
            return Some((block, at..at + len));
        }
    }
    None
}

/// The ids of the `<a id="...">` anchors of a glossary, in order.
fn glossary_ids(edition: Edition) -> Vec<String> {
    let page = Page::read(&format!("{}/glossary.md", edition.folder()));
    markdown::html_ids(&page.text)
}

#[test]
fn both_glossaries_define_the_same_terms_and_the_test_knows_them_all() {
    let english = glossary_ids(Edition::English);
    let chinese = glossary_ids(Edition::Chinese);
    assert_eq!(english, chinese, "the two glossaries' anchors, in order");
    let known: Vec<&str> = TERMS.iter().map(|t| t.id).collect();
    let defined: BTreeSet<&str> = english.iter().map(String::as_str).collect();
    let listed: BTreeSet<&str> = known.iter().copied().collect();
    assert_eq!(
        defined, listed,
        "every term of the glossary needs its words in TERMS, and every TERMS entry a glossary entry"
    );
    println!("glossary: {} terms in both editions", english.len());
}

#[test]
fn every_chapter_links_each_term_from_its_first_use() {
    let mut missing = Vec::new();
    let mut linked = 0;
    let mut used: BTreeSet<&str> = BTreeSet::new();
    for edition in Edition::BOTH {
        for page in markdown::pages(edition).iter().filter(|p| p.is_chapter()) {
            let blocks = markdown::blocks(&page.text);
            for term in TERMS {
                let Some((block, range)) =
                    first_use(&blocks, &forms(term, edition), edition, &page.name)
                else {
                    continue;
                };
                used.insert(term.id);
                let target = format!("glossary.md#{}", term.id);
                let is_link = markdown::links(&block.text).iter().any(|link| {
                    link.target == target
                        && link.text.start <= range.start
                        && range.end <= link.text.end
                });
                if is_link {
                    linked += 1;
                } else {
                    let line = block.line_of(range.start);
                    let text = block.text.lines().nth(line - block.line).unwrap_or("");
                    missing.push(format!(
                        "{}:{line}: the first use of {:?} is not a link to {target}: {text}",
                        page.name, &block.text[range]
                    ));
                }
            }
        }
    }
    assert!(missing.is_empty(), "\n{}", missing.join("\n"));
    println!(
        "glossary: {linked} first uses linked, in both editions; {} of {} terms used",
        used.len(),
        TERMS.len()
    );
}

#[test]
fn every_entry_on_rust_is_linked_from_a_chapter() {
    for edition in Edition::BOTH {
        let rust = Page::read(&format!("{}/rust.md", edition.folder()));
        let entries = markdown::html_ids(&rust.text);
        assert!(entries.len() > 10, "{}: its entries' anchors", rust.name);
        let mut targets = BTreeSet::new();
        for page in markdown::pages(edition)
            .iter()
            .filter(|p| p.is_chapter() && p.file() != "rust.md")
        {
            for block in markdown::blocks(&page.text) {
                for link in markdown::links(&block.text) {
                    if let Some(id) = link.target.strip_prefix("rust.md#") {
                        targets.insert(id.to_string());
                    }
                }
            }
        }
        let orphans: Vec<&String> = entries.iter().filter(|id| !targets.contains(*id)).collect();
        assert!(
            orphans.is_empty(),
            "{}: entries no chapter links to: {orphans:?}",
            rust.name
        );
    }
}

#[test]
fn every_link_leads_somewhere() {
    let mut pages: Vec<Page> = Edition::BOTH
        .into_iter()
        .flat_map(markdown::pages)
        .collect();
    pages.push(Page::read("README.md"));
    pages.push(Page::read("README.zh-CN.md"));
    let mut broken = Vec::new();
    let mut followed = 0;
    for page in &pages {
        for block in markdown::blocks(&page.text) {
            for link in markdown::links(&block.text) {
                let Some((path, anchor)) = markdown::resolve(&page.name, &link.target) else {
                    continue;
                };
                followed += 1;
                let line = block.line_of(link.whole.start);
                if !markdown::exists(&path) {
                    broken.push(format!(
                        "{}:{line}: {} leads to no file",
                        page.name, link.target
                    ));
                    continue;
                }
                let Some(anchor) = anchor else { continue };
                if !path.ends_with(".md") {
                    continue;
                }
                let target = Page::read(&path);
                if !markdown::anchors(&target.text).contains(&anchor) {
                    broken.push(format!(
                        "{}:{line}: {} leads to no heading or id of {path}",
                        page.name, link.target
                    ));
                }
            }
        }
    }
    assert!(broken.is_empty(), "\n{}", broken.join("\n"));
    println!(
        "links: {followed} relative links of {} pages lead somewhere",
        pages.len()
    );
}

#[test]
fn a_first_use_without_its_link_is_caught() {
    // The checks above must be able to fail: a use that is not linked, a use
    // inside a link to something else, a word inside another word.
    let page = "# T\n\nThe client sends FIN, then [RST](glossary.md#fin-rst).\n";
    let blocks = markdown::blocks(page);
    let term = TERMS.iter().find(|t| t.id == "fin-rst").unwrap();
    let (block, range) = first_use(
        &blocks,
        &forms(term, Edition::English),
        Edition::English,
        "t.md",
    )
    .unwrap();
    assert_eq!(&block.text[range.clone()], "FIN");
    let links = markdown::links(&block.text);
    assert!(!links
        .iter()
        .any(|l| l.text.start <= range.start && range.end <= l.text.end));
    assert_eq!(occurrences("FINs and FIN_WAIT", "FIN"), Vec::<usize>::new());
    assert_eq!(occurrences("a FIN.", "FIN"), vec![2]);
    // A link's target is not a use: "backlog" here is only in the anchor.
    let page = "# T\n\nSee [the queue](glossary.md#backlog).\n";
    let term = TERMS.iter().find(|t| t.id == "backlog").unwrap();
    assert!(first_use(
        &markdown::blocks(page),
        &forms(term, Edition::English),
        Edition::English,
        "t.md"
    )
    .is_none());
    // Nor is a heading; the first use in the text after it is.
    let page = "# Backlog\n\nThe backlog fills.\n";
    let (_, range) = first_use(
        &markdown::blocks(page),
        &forms(term, Edition::English),
        Edition::English,
        "t.md",
    )
    .unwrap();
    assert_eq!(range, 4..11);
}

#[test]
fn slugs_are_mdbooks() {
    assert_eq!(
        markdown::slug("## `'close'` of a server: `server.close()`"),
        "close-of-a-server-serverclose"
    );
    assert_eq!(
        markdown::slug("### 10. 运行记录与代码对不上（B1、B2）"),
        "10-运行记录与代码对不上b1b2"
    );
    assert_eq!(
        markdown::slug("## One connection, from SYN to FIN"),
        "one-connection-from-syn-to-fin"
    );
}
