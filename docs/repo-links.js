// The book's one rule for links (mdBook runs this on every page).
//
// The chapters are written for the repository: a link is relative to the
// chapter's file, so `02-tcp.md` is the next chapter and
// `../examples/tcp_server.rs` is a file of the repository. On GitHub and in
// a clone both resolve as written. In the book, mdBook turns the first kind
// into its pages; the second kind names a file the book does not hold (it
// holds the chapters and docs/node/, nothing above docs/), and so do links to
// folders (`node/`), which a web server does not list. Such a link is shown
// as the path it names in the repository, not as a link that would lead
// nowhere: open it in your clone.
(() => {
    // Where this page's Markdown lives in the repository: the English book
    // is docs/, a translation is docs/LANG/ (its <html lang>).
    const lang = document.documentElement.lang;
    const bookDir = lang === 'en' ? 'docs/' : 'docs/' + lang + '/';
    // `path_to_root` is set by mdBook's page template.
    const root = new URL(path_to_root, location.href);
    const here = location.pathname.slice(root.pathname.length);
    const page = new URL(bookDir + here, 'https://repository.invalid/');

    for (const link of document.querySelectorAll('main a[href]')) {
        const href = link.getAttribute('href');
        // Anchors on this page, and links with a scheme (https:, mailto:).
        if (href.startsWith('#') || /^[a-z][a-z0-9+.-]*:/i.test(href)) {
            continue;
        }
        const target = new URL(href, page);
        let path = decodeURIComponent(target.pathname.slice(1));
        // A page or a file of the book. Every one has an extension: a path
        // without one is a folder (mdBook's print page writes `node/` as
        // `node`).
        if (path.startsWith(bookDir) && /\.[^/]+$/.test(path)) {
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
})();
