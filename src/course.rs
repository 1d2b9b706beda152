//! The course in `docs/`, compiled: one empty module per chapter, whose
//! documentation *is* the chapter's Markdown file.
//!
//! Nothing here is code. The modules exist so that rustdoc renders every
//! chapter and `cargo test` compiles and runs every Rust block in it: a
//! chapter whose code no longer builds against the library fails the build.
//! The chapters are written for GitHub first, so their links to other files
//! (`../examples/tcp_server.rs`, `02-tcp.md`) work there, in the repository,
//! rather than in these pages.
//!
//! Before them, [`rust`]: every feature of Rust the chapters use, where it
//! first appears, and where the Rust Book explains it.
//!
//! 1. [`ch1_sockets`]: sockets and the layers.
//! 2. [`ch2_tcp`]: a TCP server and client.
//! 3. [`ch3_events`]: the events of a server and of a connection.
//! 4. [`ch4_udp`]: UDP, datagrams with no connection and no promise.
//! 5. [`ch5_chat`]: the chat room, one list shared by every connection's
//!    thread.
//! 6. [`ch6_beyond`]: what a thread per connection costs (the benchmark),
//!    async Rust, which address to bind, graceful shutdown.
//!
//! Appendices: [`errata`], every bug of the documents' snippets, and what
//! the compiler says about its Rust twin; [`room_history`], the chat
//! room's designs that lost, and the measurements that decided; [`sources`],
//! the two documents' snippets and sentences exactly as they print them;
//! [`glossary`], the words of networking and of the course.

#[doc = include_str!("../docs/rust.md")]
pub mod rust {}

#[doc = include_str!("../docs/01-sockets.md")]
pub mod ch1_sockets {}

// Chapter 2 shows the compiler refusing `b"你好"`, a block that does not
// even lex as Rust: rustdoc's highlighter says so, which is the point.
#[allow(rustdoc::invalid_rust_codeblocks)]
#[doc = include_str!("../docs/02-tcp.md")]
pub mod ch2_tcp {}

#[doc = include_str!("../docs/03-events.md")]
pub mod ch3_events {}

#[doc = include_str!("../docs/04-udp.md")]
pub mod ch4_udp {}

#[doc = include_str!("../docs/05-chat.md")]
pub mod ch5_chat {}

#[doc = include_str!("../docs/errata.md")]
pub mod errata {}

#[doc = include_str!("../docs/room-history.md")]
pub mod room_history {}

#[doc = include_str!("../docs/06-beyond.md")]
pub mod ch6_beyond {}

#[doc = include_str!("../docs/sources.md")]
pub mod sources {}

#[doc = include_str!("../docs/glossary.md")]
pub mod glossary {}

#[doc = include_str!("../docs/workshop.md")]
pub mod workshop {}

/// 中文版: the same course in Simplified Chinese (`docs/zh-CN/`), compiled
/// the same way, so that `cargo test` runs every Rust block of it too.
/// `tests/translation.rs` checks that its code is the English edition's,
/// comments aside.
pub mod zh_cn {
    #[doc = include_str!("../docs/zh-CN/README.md")]
    pub mod front_page {}

    #[doc = include_str!("../docs/zh-CN/rust.md")]
    pub mod rust {}

    #[doc = include_str!("../docs/zh-CN/01-sockets.md")]
    pub mod ch1_sockets {}

    #[allow(rustdoc::invalid_rust_codeblocks)]
    #[doc = include_str!("../docs/zh-CN/02-tcp.md")]
    pub mod ch2_tcp {}

    #[doc = include_str!("../docs/zh-CN/03-events.md")]
    pub mod ch3_events {}

    #[doc = include_str!("../docs/zh-CN/04-udp.md")]
    pub mod ch4_udp {}

    #[doc = include_str!("../docs/zh-CN/05-chat.md")]
    pub mod ch5_chat {}

    #[doc = include_str!("../docs/zh-CN/06-beyond.md")]
    pub mod ch6_beyond {}

    #[doc = include_str!("../docs/zh-CN/errata.md")]
    pub mod errata {}

    #[doc = include_str!("../docs/zh-CN/room-history.md")]
    pub mod room_history {}

    #[doc = include_str!("../docs/zh-CN/sources.md")]
    pub mod sources {}

    #[doc = include_str!("../docs/zh-CN/glossary.md")]
    pub mod glossary {}

    #[doc = include_str!("../docs/zh-CN/workshop.md")]
    pub mod workshop {}
}
