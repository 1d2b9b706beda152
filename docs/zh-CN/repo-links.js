// The books' rules for links (mdBook runs this on every page of both
// editions: the English book, docs/, and the Chinese one, docs/zh-CN/; it
// lives here because the Chinese book can only load files inside its own
// folder, and the English book's folder holds this one too).
//
// The chapters are written for the repository: a link is relative to the
// chapter's file, so `02-tcp.md` is the next chapter and
// `../examples/tcp_server.rs` (`../../examples/tcp_server.rs` from a Chinese
// chapter) is a file of the repository. On GitHub and in a clone all resolve
// as written. In the book, mdBook turns links to chapters into links to its
// pages; two kinds need this script:
//
// - A link into the other edition: the line under every title,
//   `[中文](zh-CN/02-tcp.md)` and `[English](../02-tcp.md)`. Each edition is
//   a book of its own, built side by side into target/book/en/ and
//   target/book/zh-CN/: such a link leads to that page of the other book
//   (its README.md is its index.html).
// - A link to a file no book holds (a book holds its chapters, and the
//   English one docs/node/ too, nothing above docs/), and a link to a folder
//   (`node/`), which a web server does not list. Such a link is shown as the
//   path it names in the repository, not as a link that would lead nowhere:
//   open it in your clone.
//
// It also puts a language switch in the menu bar: the same page in the other
// edition.
(() => {
    // The editions: where each one's Markdown lives in the repository, and
    // its folder under target/book/ (its language, the page's <html lang>).
    const editions = [
        { lang: 'en', dir: 'docs/', name: 'English' },
        { lang: 'zh-CN', dir: 'docs/zh-CN/', name: '中文' },
    ];
    const here = editions.find((e) => e.lang === document.documentElement.lang) || editions[0];
    // The edition that holds a repository path: the deepest folder of one.
    const editionOf = (path) =>
        editions
            .filter((e) => path.startsWith(e.dir))
            .sort((a, b) => b.dir.length - a.dir.length)[0];

    // `path_to_root` is set by mdBook's page template.
    const root = new URL(path_to_root || './', location.href);
    const pagePath = location.pathname.slice(root.pathname.length);
    const page = new URL(here.dir + pagePath, 'https://repository.invalid/');

    // Where another edition's book is, seen from this one. From disk, or from
    // any web server given target/book/, it is the folder beside this one.
    // `mdbook serve` serves one book (its pages carry its live-reload
    // script): each edition then has a server of its own, in the order of
    // `editions`, on consecutive ports: `mdbook serve docs` on 3000,
    // `mdbook serve docs/zh-CN -p 3001`.
    const served = [...document.scripts].some((s) => s.textContent.includes('__livereload'));
    const rootOf = (edition) => {
        if (!served) {
            return new URL(`../${edition.lang}/`, root);
        }
        const other = new URL('/', location.href);
        other.port = Number(location.port) + editions.indexOf(edition) - editions.indexOf(here);
        return other;
    };
    // A page or file of another edition, from its path in that book.
    const inEdition = (edition, path) =>
        new URL(path.replace(/^README\.html$/, 'index.html'), rootOf(edition)).href;

    for (const link of document.querySelectorAll('main a[href]')) {
        const href = link.getAttribute('href');
        // Anchors on this page, and links with a scheme (https:, mailto:).
        if (href.startsWith('#') || /^[a-z][a-z0-9+.-]*:/i.test(href)) {
            continue;
        }
        const target = new URL(href, page);
        let path = decodeURIComponent(target.pathname.slice(1));
        const edition = editionOf(path);
        // A page or a file of a book. Every one has an extension: a path
        // without one is a folder (mdBook's print page writes `node/` as
        // `node`).
        if (edition && /\.[^/]+$/.test(path)) {
            if (edition !== here) {
                link.href = inEdition(edition, path.slice(edition.dir.length)) + target.hash;
                link.hreflang = edition.lang;
            }
            continue;
        }
        // mdBook turned every `.md` into `.html`; the repository has no
        // HTML, so out of the book it is the Markdown file (../README.md).
        path = path.replace(/\.html$/, '.md');
        const shown = document.createElement('span');
        shown.className = 'repo-path';
        shown.title = path + ': in the repository, not in this book';
        shown.append(...link.childNodes);
        if (shown.textContent.replace(/\/$/, '') !== path.replace(/\/$/, '')) {
            const code = document.createElement('code');
            code.textContent = path;
            shown.append(' (', code, ')');
        }
        link.replaceWith(shown);
    }

    // The switch in the menu bar, beside the print button: this page in the
    // other edition (both have the same pages, under the same names).
    const buttons = document.querySelector('#mdbook-menu-bar .right-buttons');
    for (const edition of editions) {
        if (edition === here || !buttons) {
            continue;
        }
        const link = document.createElement('a');
        link.className = 'icon-button language-switch';
        link.href = inEdition(edition, pagePath || 'index.html');
        link.hreflang = edition.lang;
        link.lang = edition.lang;
        link.title = link.ariaLabel = edition.name;
        link.textContent = edition.name;
        buttons.prepend(link);
    }
})();
