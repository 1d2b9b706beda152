//! The Chinese edition (`docs/zh-CN/`, `README.zh-CN.md`) and the English
//! one stay in step: every page exists in both, and their code is the same.
//!
//! Prose, headings, tables and comments are translated; code is not. So for
//! each page, both editions must have the same fenced blocks, in the same
//! order, with the same info strings, and the same code once comments are
//! set aside: `//` and `/* */` in Rust and JavaScript, `#` in shell, the
//! labels of a mermaid diagram. Program output (```text) must be byte for
//! byte the same. `cargo test` runs the Chinese Rust blocks too (they are
//! `netcourse::course::zh_cn`), and `tests/node.rs` runs the JavaScript
//! programs the blocks of both editions are.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The repository's root.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Markdown pages of a folder (not its subfolders), by file name.
fn pages(folder: &Path) -> BTreeSet<String> {
    fs::read_dir(folder)
        .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .collect()
}

/// Every page and its twin: (English, Chinese).
fn twins() -> Vec<(PathBuf, PathBuf)> {
    let docs = root().join("docs");
    let zh = docs.join("zh-CN");
    let (english, chinese) = (pages(&docs), pages(&zh));
    let only_english: Vec<_> = english.difference(&chinese).collect();
    let only_chinese: Vec<_> = chinese.difference(&english).collect();
    assert!(
        only_english.is_empty() && only_chinese.is_empty(),
        "pages in one language only: English {only_english:?}, Chinese {only_chinese:?}"
    );
    let mut twins: Vec<_> = english
        .iter()
        .map(|name| (docs.join(name), zh.join(name)))
        .collect();
    twins.push((root().join("README.md"), root().join("README.zh-CN.md")));
    twins
}

/// A fenced block: its info string, the line of the page it starts on, and
/// its lines (without the fence's indentation).
#[derive(Debug)]
struct Block {
    info: String,
    line: usize,
    body: Vec<String>,
}

/// The fenced blocks of a Markdown page, in order. A fence is three or
/// more backticks, possibly indented (inside a list); it is closed by a
/// fence of at least as many backticks and no info string.
fn blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, usize, Block)> = None; // (indent, ticks, block)
    for (number, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let ticks = trimmed.chars().take_while(|&c| c == '`').count();
        match &mut open {
            None if ticks >= 3 => {
                let block = Block {
                    info: trimmed[ticks..].trim().to_string(),
                    line: number + 1,
                    body: Vec::new(),
                };
                open = Some((indent, ticks, block));
            }
            None => {}
            Some((_, fence, _)) if ticks >= *fence && trimmed[ticks..].trim().is_empty() => {
                blocks.push(open.take().unwrap().2);
            }
            Some((fence_indent, _, block)) => {
                let cut = line
                    .char_indices()
                    .take_while(|&(i, c)| i < *fence_indent && c == ' ')
                    .count();
                block.body.push(line[cut..].to_string());
            }
        }
    }
    assert!(open.is_none(), "a fenced block is never closed");
    blocks
}

/// What of a block must be the same in both editions.
fn code(block: &Block) -> Vec<String> {
    let language = block.info.split([',', ' ']).next().unwrap_or("");
    let lines: Vec<String> = match language {
        "rust" | "js" | "javascript" => {
            let rust = language == "rust";
            without_comments(&block.body.join("\n"), rust)
                .lines()
                .map(str::to_string)
                .collect()
        }
        "sh" | "console" | "bash" => block
            .body
            .iter()
            .map(|line| match line.find('#') {
                Some(at) if at == 0 || line[..at].ends_with(' ') => line[..at].to_string(),
                _ => line.clone(),
            })
            .collect(),
        "mermaid" => block.body.iter().map(|line| mermaid_shape(line)).collect(),
        _ => block.body.clone(),
    };
    lines
        .iter()
        .map(|line| line.trim_end().to_string())
        .collect()
}

/// A mermaid line without what may be translated: quoted labels, what
/// follows a `:` (notes, messages), the name after `participant X as`, and
/// the label of an `alt`, `else`, `loop` (...) block.
fn mermaid_shape(line: &str) -> String {
    let mut unquoted = String::new();
    let mut quoted = false;
    for c in line.chars() {
        if c == '"' {
            quoted = !quoted;
            unquoted.push(c);
        } else if !quoted {
            unquoted.push(c);
        }
    }
    let shape = unquoted.split(':').next().unwrap_or("");
    let keyword = shape.split_whitespace().next().unwrap_or("");
    match keyword {
        // participant X as its label
        "participant" | "actor" => match shape.find(" as ") {
            Some(at) => shape[..at].to_string(),
            None => shape.to_string(),
        },
        // A block's label: alt label, else label, loop label, ...
        "alt" | "else" | "opt" | "loop" | "par" | "and" | "critical" | "break" => {
            let indent = shape.len() - shape.trim_start().len();
            format!("{}{keyword}", &shape[..indent])
        }
        _ => shape.to_string(),
    }
}

/// `source` with its comments emptied (each comment's text removed, its
/// line kept), strings and character literals left alone. `rust` says which
/// language: Rust has raw strings and lifetimes, JavaScript template
/// literals.
fn without_comments(source: &str, rust: bool) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            // A line comment: up to the end of the line.
            '/' if next == Some('/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            // A block comment: up to `*/`, keeping its line breaks.
            '/' if next == Some('*') => {
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    if chars[i] == '\n' {
                        out.push('\n');
                    }
                    i += 1;
                }
                i += 2;
            }
            // A Rust raw string: r"...", r#"..."#, br"...".
            'r' if rust && raw_string_start(&chars, i).is_some() => {
                let hashes = raw_string_start(&chars, i).unwrap();
                let start = i;
                i += 2 + hashes; // r, the hashes, the quote
                while i < chars.len() {
                    if chars[i] == '"' && chars[i + 1..].iter().take(hashes).all(|&h| h == '#') {
                        i += 1 + hashes;
                        break;
                    }
                    i += 1;
                }
                out.extend(&chars[start..i.min(chars.len())]);
            }
            // A string: "..." in both, '...' and `...` in JavaScript.
            '"' => i = copy_quoted(&chars, i, '"', &mut out),
            '\'' | '`' if !rust => i = copy_quoted(&chars, i, c, &mut out),
            // A Rust character literal ('a', '\n', '"'); a lifetime ('a)
            // is code.
            '\'' if rust && is_char_literal(&chars, i) => {
                i = copy_quoted(&chars, i, '\'', &mut out)
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// If a Rust raw string starts at `i` (`r"`, `r#"`, ...), how many `#`.
fn raw_string_start(chars: &[char], i: usize) -> Option<usize> {
    // Not the end of an identifier such as `for`.
    if i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_') && chars[i - 1] != 'b' {
        return None;
    }
    let hashes = chars[i + 1..].iter().take_while(|&&c| c == '#').count();
    (chars.get(i + 1 + hashes) == Some(&'"')).then_some(hashes)
}

/// Whether the `'` at `i` opens a Rust character literal.
fn is_char_literal(chars: &[char], i: usize) -> bool {
    match chars.get(i + 1) {
        Some('\\') => true,
        Some(_) => chars.get(i + 2) == Some(&'\''),
        None => false,
    }
}

/// Copies the literal that opens at `i` with `quote`, escapes and all, up to
/// and including its closing quote; returns the index after it.
fn copy_quoted(chars: &[char], mut i: usize, quote: char, out: &mut String) -> usize {
    out.push(chars[i]);
    i += 1;
    while i < chars.len() {
        let c = chars[i];
        out.push(c);
        i += 1;
        if c == '\\' {
            if let Some(&escaped) = chars.get(i) {
                out.push(escaped);
                i += 1;
            }
        } else if c == quote {
            break;
        }
    }
    i
}

/// The differences between a page and its twin, one sentence each.
fn differences(english: &Path, chinese: &Path) -> Vec<String> {
    let read = |path: &Path| {
        fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let (en, zh) = (blocks(&read(english)), blocks(&read(chinese)));
    let name = chinese
        .strip_prefix(root())
        .unwrap_or(chinese)
        .display()
        .to_string();
    let mut found = Vec::new();
    if en.len() != zh.len() {
        found.push(format!(
            "{name}: {} code blocks, its English twin {}",
            zh.len(),
            en.len()
        ));
    }
    for (e, z) in en.iter().zip(&zh) {
        if e.info != z.info {
            found.push(format!(
                "{name}:{}: a ```{} block where the English (line {}) has ```{}",
                z.line, z.info, e.line, e.info
            ));
            break; // the rest is out of step too
        }
        let (e_code, z_code) = (code(e), code(z));
        if e_code != z_code {
            let at = e_code
                .iter()
                .zip(&z_code)
                .position(|(a, b)| a != b)
                .unwrap_or(e_code.len().min(z_code.len()));
            found.push(format!(
                "{name}:{}: the code differs from the English (line {}) at its line {}: {:?} / {:?}",
                z.line,
                e.line,
                at + 1,
                e_code.get(at),
                z_code.get(at)
            ));
        }
    }
    found
}

#[test]
fn every_page_exists_in_both_languages_with_the_same_code() {
    let mut found = Vec::new();
    let mut blocks_checked = 0;
    for (english, chinese) in twins() {
        blocks_checked += blocks(&fs::read_to_string(&english).unwrap()).len();
        found.extend(differences(&english, &chinese));
    }
    assert!(found.is_empty(), "\n{}", found.join("\n"));
    println!("translation: {blocks_checked} code blocks the same in both editions");
}

#[test]
fn comments_are_set_aside_and_nothing_else() {
    let rust = "let url = \"http://xingxin.me\"; // a URL is not a comment\nlet c = '/'; // nor a char\nfn f<'a>(s: &'a str) {} /* gone */\n";
    assert_eq!(
        without_comments(rust, true),
        "let url = \"http://xingxin.me\"; \nlet c = '/'; \nfn f<'a>(s: &'a str) {} \n"
    );
    let raw = "let r = r#\"// kept\"#; // dropped";
    assert_eq!(without_comments(raw, true), "let r = r#\"// kept\"#; ");
    let js = "const s = `a // b`; // c\nsocket.write('x // y'); /* z */";
    assert_eq!(
        without_comments(js, false),
        "const s = `a // b`; \nsocket.write('x // y'); "
    );
    assert_eq!(mermaid_shape("    A->>B: write(\"hi\")"), "    A->>B");
    assert_eq!(
        mermaid_shape("    D[\"'data'\"] --> Q"),
        "    D[\"\"] --> Q"
    );
    assert_eq!(
        mermaid_shape("    participant TA as alice's thread"),
        "    participant TA"
    );
    assert_eq!(mermaid_shape("    alt netcourse：先排空"), "    alt");
}

#[test]
fn a_drift_in_the_code_is_caught() {
    // The same page twice, but the "translation" changed a string, not a
    // comment: the check must see it.
    let dir = std::env::temp_dir().join(format!("netcourse-drift-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let english = dir.join("en.md");
    let chinese = dir.join("zh.md");
    let page =
        "# Page\n\n```rust\nfn main() {\n    // say hello\n    println!(\"hello\");\n}\n```\n";
    fs::write(&english, page).unwrap();
    fs::write(&chinese, page.replace("// say hello", "// 打个招呼")).unwrap();
    // Comments may differ...
    let same = differences(&english, &chinese);
    fs::write(&chinese, page.replace("\"hello\"", "\"你好\"")).unwrap();
    // ...code may not.
    let drift = differences(&english, &chinese);
    fs::remove_dir_all(&dir).unwrap();
    assert!(same.is_empty(), "{same:?}");
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert!(drift[0].contains("hello"), "{drift:?}");
}
