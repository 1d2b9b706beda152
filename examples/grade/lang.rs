//! The learner's language. Every sentence the grader prints exists in
//! English and in Chinese, written side by side with [`t!`], and each names
//! the sections and paths of its own edition of the course: `docs/` for
//! English, `docs/zh-CN/` for Chinese.
//!
//! English unless `--lang zh` says otherwise; without `--lang`, a Chinese
//! locale (`LANG=zh_CN.UTF-8`, say) makes Chinese the default.

use std::env;
use std::sync::OnceLock;

/// The two editions of the course.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    Zh,
}

/// The language of this run, set once by `main`.
static LANG: OnceLock<Lang> = OnceLock::new();

impl Lang {
    /// `--lang en` or `--lang zh` (`zh-CN`, `zh_CN` too).
    pub fn parse(word: &str) -> Option<Lang> {
        match word.to_ascii_lowercase().as_str() {
            "en" => Some(Lang::En),
            "zh" | "zh-cn" | "zh_cn" => Some(Lang::Zh),
            _ => None,
        }
    }

    /// The locale's language: the first of `LC_ALL`, `LC_MESSAGES` and
    /// `LANG` that is set, as POSIX programs read them; Chinese if it says
    /// `zh...`, English otherwise.
    pub fn from_locale() -> Lang {
        let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
            .into_iter()
            .filter_map(|name| env::var(name).ok())
            .find(|value| !value.is_empty());
        match locale {
            Some(value) if value.to_ascii_lowercase().starts_with("zh") => Lang::Zh,
            _ => Lang::En,
        }
    }
}

/// Sets the language of this run (once; later calls change nothing).
pub fn set(lang: Lang) {
    let _ = LANG.set(lang);
}

/// The language of this run.
pub fn lang() -> Lang {
    LANG.get().copied().unwrap_or(Lang::En)
}

/// `t!("it listens on {addr}", "它在 {addr} 上监听")`: the sentence in the
/// learner's language, as a `String`. Both are `format!` strings; a value
/// given after them (`t!("{} of {}", "{1} 中的 {0}", a, b)`) must be used by
/// both, or it does not compile.
macro_rules! t {
    ($en:literal, $zh:literal $(, $($arg:tt)*)?) => {
        match $crate::lang::lang() {
            $crate::lang::Lang::En => format!($en $(, $($arg)*)?),
            $crate::lang::Lang::Zh => format!($zh $(, $($arg)*)?),
        }
    };
}
pub(crate) use t;
