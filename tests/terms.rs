//! The Chinese edition says one thing one way: the word list at the end of
//! its glossary (`docs/zh-CN/glossary.md`, "本课程的用词") names the words the
//! pages use and the variants they must not, and this test reads that list
//! and checks every page of `docs/zh-CN/` and `README.zh-CN.md` against it,
//! with three rules the list states in prose: an error is "返回 `X` 错误",
//! not "以 `X` 失败"; no italic emphasis of Chinese; tables say 编号 and
//! 代码片段, not id and 片段.
//!
//! What the pages quote is not theirs to change: quotes of the documents,
//! code, program output (a code span with Chinese in it) and the word list
//! itself are left out. The comments of the Rust and JavaScript blocks, and
//! the labels of the diagrams, are prose, and are checked.

mod markdown;

use markdown::{Edition, Kind, Page};

/// Where the word list starts on the Chinese glossary.
const WORD_LIST: &str = "## 本课程的用词";

/// A row of the word list: the word to use, and the variants not to.
#[derive(Debug)]
struct Usage {
    words: Vec<String>,
    not: Vec<String>,
}

/// The word list, read from the Chinese glossary.
fn word_list() -> Vec<Usage> {
    let glossary = Page::read("docs/zh-CN/glossary.md");
    let at = glossary
        .text
        .find(WORD_LIST)
        .expect("the Chinese glossary has its word list");
    let list = &glossary.text[at..];
    let table = markdown::blocks(list)
        .into_iter()
        .find(|b| b.kind == Kind::Table)
        .expect("the word list is a table");
    let split = |cell: &str| -> Vec<String> {
        cell.split(['、', '；'])
            .map(|w| w.trim().to_string())
            .filter(|w| !w.is_empty())
            .collect()
    };
    table
        .text
        .lines()
        .skip(2)
        .map(|row| {
            let cells: Vec<&str> = markdown::cells(row).into_iter().map(|c| &row[c]).collect();
            Usage {
                words: split(cells[0]),
                not: split(cells[1]),
            }
        })
        .collect()
}

/// The pages of the Chinese edition: `docs/zh-CN/*.md` and the README.
fn chinese_pages() -> Vec<Page> {
    let mut pages = markdown::pages(Edition::Chinese);
    pages.push(Page::read("README.zh-CN.md"));
    pages
}

/// The text of a page that is the course's own Chinese, line by line (the
/// page's line number, and the line with what is not blanked out): prose
/// without quotes of the documents and without code spans that hold
/// Chinese; the comments of Rust and JavaScript blocks; diagrams' labels.
fn own_words(page: &Page) -> Vec<(usize, String)> {
    let text = match page.text.find(WORD_LIST) {
        Some(at) if page.file() == "glossary.md" => &page.text[..at],
        _ => &page.text[..],
    };
    let mut lines = Vec::new();
    for block in markdown::blocks(text) {
        if matches!(block.kind, Kind::Quote | Kind::Html) {
            continue;
        }
        let mut blank = markdown::quotes(&block, Edition::Chinese, &page.name);
        blank.extend(
            markdown::code_spans(&block.text)
                .into_iter()
                .filter(|span| markdown::has_ideograph(&block.text[span.clone()])),
        );
        let kept = markdown::blanked(&block.text, &blank);
        for (n, line) in kept.lines().enumerate() {
            lines.push((block.line + n, line.to_string()));
        }
    }
    // Fenced code: only what is prose in it.
    let mut fence: Option<String> = None;
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            fence = match fence {
                None => Some(info.trim().to_string()),
                Some(_) => None,
            };
            continue;
        }
        // The language of the block: `js-original` is a document's code.
        let language = fence
            .as_deref()
            .map(|info| info.split([',', ' ']).next().unwrap_or(""));
        match language {
            Some("rust" | "js") => {
                if let Some(at) = line.find("//") {
                    lines.push((n + 1, line[at..].to_string()));
                }
            }
            Some("mermaid") => lines.push((n + 1, line.to_string())),
            _ => {}
        }
    }
    lines
}

/// What a line says that the word list, or its three rules, does not allow.
fn misuses(line: &str, list: &[Usage]) -> Vec<String> {
    let mut found = Vec::new();
    for usage in list {
        for variant in &usage.not {
            if line.contains(variant.as_str()) {
                found.push(format!("{variant} (write {})", usage.words.join("、")));
            }
        }
    }
    // 以 `X` 失败
    let mut from = 0;
    while let Some(at) = line[from..].find("以 `").map(|a| from + a) {
        let rest = &line[at + "以 `".len()..];
        if let Some(end) = rest.find('`') {
            if rest[end + 1..].trim_start().starts_with("失败") {
                let code = &rest[..end];
                found.push(format!("以 `{code}` 失败 (write 返回 `{code}` 错误)"));
            }
        }
        from = at + "以 `".len();
    }
    // *斜体*: one asterisk on each side, Chinese inside.
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let single = chars[i] == '*'
            && chars
                .get(i + 1)
                .is_some_and(|c| *c != '*' && !c.is_whitespace())
            && (i == 0 || chars[i - 1] != '*');
        if single {
            if let Some(len) = chars[i + 1..].iter().position(|&c| c == '*') {
                let end = i + 1 + len;
                let inner: String = chars[i + 1..end].iter().collect();
                let closes = chars.get(end + 1) != Some(&'*') && !inner.ends_with(' ');
                if closes && markdown::has_ideograph(&inner) {
                    found.push(format!("*{inner}* (italic Chinese: bold, or nothing)"));
                }
                i = end + 1;
                continue;
            }
        }
        i += 1;
    }
    // Table headers.
    if line.trim_start().starts_with('|') {
        for cell in markdown::cells(line) {
            match line[cell].trim() {
                "id" => found.push("a table header id (write 编号)".to_string()),
                "片段" => found.push("a table header 片段 (write 代码片段)".to_string()),
                _ => {}
            }
        }
    }
    found
}

#[test]
fn the_chinese_pages_use_the_word_list() {
    let list = word_list();
    assert!(list.len() >= 15, "{list:?}");
    let mut wrong = Vec::new();
    let mut lines = 0;
    for page in chinese_pages() {
        for (number, line) in own_words(&page) {
            lines += 1;
            for misuse in misuses(&line, &list) {
                wrong.push(format!("{}:{number}: {misuse}", page.name));
            }
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
    println!(
        "terms: {lines} lines of the Chinese edition, {} rows of the word list, no variant",
        list.len()
    );
}

#[test]
fn every_word_of_the_list_is_used() {
    // A word the pages never use is a list that drifted from the pages.
    let pages: String = chinese_pages()
        .iter()
        .filter(|p| p.file() != "glossary.md")
        .map(|p| p.text.as_str())
        .collect();
    let list = word_list();
    let unused: Vec<&String> = list
        .iter()
        .flat_map(|u| &u.words)
        .filter(|w| !pages.contains(w.as_str()))
        .collect();
    assert!(
        unused.is_empty(),
        "words of the list no page uses: {unused:?}"
    );
}

#[test]
fn a_variant_is_caught() {
    let list = vec![Usage {
        words: vec!["连接名额".into()],
        not: vec!["座位".into()],
    }];
    assert_eq!(misuses("每个连接占一个座位。", &list).len(), 1);
    assert_eq!(misuses("`read` 以 `WouldBlock` 失败。", &list).len(), 1);
    assert_eq!(misuses("它到底*是*什么", &list).len(), 1);
    assert_eq!(misuses("| id | 片段 |", &list).len(), 2);
    // Bold, and italics of English, are fine.
    assert!(misuses("它**就是**那个循环，*socket* 也是。", &list).is_empty());
    // A quote of the documents, and program output, are theirs.
    let page = Page {
        name: "docs/zh-CN/test.md".into(),
        text: "文档 A 说：“当套接字和服务端连接成功时”。打印 `接收服务端的数据:`。\n".into(),
    };
    let list = vec![Usage {
        words: vec!["服务器".into()],
        not: vec!["服务端".into()],
    }];
    let words = own_words(&page);
    assert!(
        words.iter().all(|(_, l)| misuses(l, &list).is_empty()),
        "{words:?}"
    );
}
