// Checks the built books in headless Chromium, as a reader would open them:
// from disk (file://), offline. Run by .ci/book, which installs what this
// needs (playwright-core, only to drive Debian's chromium) and builds the
// books first.
//
//     node .ci/book-check.js [--shots SHOTS_DIR] DOCS_DIR BOOK_DIR [DOCS_DIR BOOK_DIR]...
//     node .ci/book-check.js --served DOCS_DIR URL [DOCS_DIR URL]...
//
// Each DOCS_DIR is a book's source (docs/, docs/zh-CN/), its BOOK_DIR that
// book's build (target/book/en, target/book/zh-CN); the books are editions of
// one course, with the same pages under the same names. It fails, and says
// where (the book's language, then the page), when:
// - a chapter of DOCS_DIR is not in its SUMMARY.md, or a page of SUMMARY.md
//   was not built or does not load;
// - a page logs an error, or asks for anything but a file of the books (the
//   books must work with no network);
// - a ```mermaid block of the Markdown did not become a drawn diagram (an
//   <svg> that is not mermaid's "syntax error" picture);
// - the search does not find, in each edition, the words of `searches`
//   below on their chapters;
// - a link on any page leads to a file no book has, to a folder, out of the
//   books, or to an anchor its page does not have;
// - the line right under a page's title (`[中文](zh-CN/02-tcp.md)`,
//   `[English](../02-tcp.md)`), or the language switch in the menu bar, does
//   not lead to the same page in the other edition (on the print page: each
//   chapter's line to its own twin, in order).
// SHOTS_DIR, if given, gets a PNG of every diagram, named LANG-PAGE-SECTION.png.
//
// With --served, each URL is where `mdbook serve` serves that book; only the
// language links are checked there: every page of SUMMARY.md loads, and its
// line under the title and its switch lead to the same page on the other
// edition's server.
'use strict';

const fs = require('fs');
const path = require('path');
const { pathToFileURL, fileURLToPath } = require('url');
const { chromium } = require('playwright-core');

// What the search box must find in each edition: [query, a page among the results].
const searches = {
    en: [
        ["'drain'", '03-events.html'],
        ['rinfo', '04-udp.html'],
    ],
    'zh-CN': [
        ['套接字', '01-sockets.html'],
        ['三次握手', '02-tcp.html'],
        ['rinfo', '04-udp.html'],
    ],
};

const args = process.argv.slice(2);
let shots = null;
let served = false;
if (args[0] === '--shots') {
    shots = path.resolve(args[1]);
    args.splice(0, 2);
} else if (args[0] === '--served') {
    served = true;
    args.splice(0, 1);
}
if (args.length === 0 || args.length % 2 !== 0) {
    console.error('usage: node .ci/book-check.js [--shots SHOTS_DIR] DOCS_DIR BOOK_DIR [DOCS_DIR BOOK_DIR]...');
    console.error('       node .ci/book-check.js --served DOCS_DIR URL [DOCS_DIR URL]...');
    process.exit(2);
}

const failures = [];
const fail = (where, what) => failures.push(`${where}: ${what}`);

const htmlOf = (md) => (md === 'README.md' ? 'index.html' : md.replace(/\.md$/, '.html'));

// The books: their language (book.toml's), the pages SUMMARY.md names and
// the diagrams on each.
const books = [];
for (let i = 0; i < args.length; i += 2) {
    const docs = path.resolve(args[i]);
    const toml = fs.readFileSync(path.join(docs, 'book.toml'), 'utf8');
    const lang = (toml.match(/^language\s*=\s*"([^"]+)"/m) || [])[1];
    if (!lang) {
        console.error(`${docs}/book.toml names no language`);
        process.exit(2);
    }
    const summary = fs.readFileSync(path.join(docs, 'SUMMARY.md'), 'utf8');
    const chapters = [...summary.matchAll(/\]\(([^)#]+\.md)\)/g)].map((m) => m[1]);
    for (const md of fs.readdirSync(docs)) {
        if (md.endsWith('.md') && md !== 'SUMMARY.md' && !chapters.includes(md)) {
            fail(`${lang}/${md}`, 'not in SUMMARY.md, so not in the book');
        }
    }
    const diagramsIn = (md) =>
        (fs.readFileSync(path.join(docs, md), 'utf8').match(/^```mermaid[ \t]*$/gm) || []).length;
    const expected = new Map(chapters.map((md) => [htmlOf(md), diagramsIn(md)]));
    // The print page holds every chapter in one.
    expected.set('print.html', [...expected.values()].reduce((a, b) => a + b, 0));
    const where = served ? args[i + 1].replace(/\/?$/, '/') : path.resolve(args[i + 1]);
    books.push({ lang, docs, where, chapters: chapters.map(htmlOf), expected });
}
const others = (book) => books.filter((b) => b !== book);
// A file of the books, as the messages name it: from the folder that holds
// them (target/book/), so that it starts with its book's language.
const shown = (file) => path.relative(path.dirname(books[0].where), file) || '.';

async function launch() {
    const browser = await chromium.launch({
        executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
        // playwright adds --headless, --no-sandbox (chromiumSandbox is off)
        // and a fresh --user-data-dir of its own.
        args: [
            '--disable-gpu',
            '--disable-quic',
            '--no-first-run',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
        ],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    return { browser, context };
}

// The language links of a page, after its scripts ran: for each title (one
// per chapter on the print page), the line right under it if it holds
// nothing but a link (else null); and the menu bar's switch.
const languageLinks = (page) =>
    page.evaluate(() => ({
        lines: [...document.querySelectorAll('main h1')].map((h1) => {
            const p = h1.nextElementSibling;
            const line =
                p &&
                p.matches('p') &&
                p.children.length === 1 &&
                p.firstElementChild.matches('a[href]') &&
                p.textContent.trim() === p.firstElementChild.textContent.trim();
            return line ? p.firstElementChild.href : null;
        }),
        switches: [...document.querySelectorAll('#mdbook-menu-bar a.language-switch')].map((a) => a.href),
    }));

// Fails unless the links `found` (hrefs, or null for none) lead to `want`,
// in order.
function sameLinks(where, what, found, want) {
    const name = (href) => {
        if (href === null) return 'nothing';
        const url = new URL(href);
        return url.protocol === 'file:' ? shown(fileURLToPath(url)) : url.href;
    };
    const strip = (href) => href && href.replace(/#.*$/, '');
    for (let i = 0; i < Math.max(found.length, want.length); i++) {
        if (strip(found[i]) !== want[i]) {
            const which = want.length > 1 ? ` (title ${i + 1} of ${want.length})` : '';
            fail(where, `${what}${which} leads to ${name(found[i] || null)}, not ${want[i] ? name(want[i]) : 'nothing'}`);
        }
    }
}

// Both editions from disk: every page, diagram, link and search.
async function checkBuilt() {
    const { browser, context } = await launch();
    const insideBooks = (file) => books.some((b) => file === b.where || file.startsWith(b.where + path.sep));
    const ids = new Map(); // absolute file -> Set of its ids
    const anchors = []; // [from, absolute file, id]
    let pageCount = 0;
    let diagrams = 0;
    let links = 0;
    let languageLines = 0;

    for (const book of books) {
        // Every other HTML file of the build is opened too, for its links.
        // 404.html is left out: a web server sends it for a missing URL, and
        // it names its assets from the site's root, which a file:// URL does
        // not have.
        const allHtml = [];
        (function walk(dir) {
            for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
                const full = path.join(dir, entry.name);
                if (entry.isDirectory()) walk(full);
                else if (entry.name.endsWith('.html')) allHtml.push(path.relative(book.where, full));
            }
        })(book.where);
        const pages = [...new Set([...book.expected.keys(), ...allHtml])].filter((p) => p !== '404.html');

        for (const name of pages) {
            const where = `${book.lang}/${name}`;
            const file = path.join(book.where, name);
            if (!fs.existsSync(file)) {
                fail(where, 'missing from the build');
                continue;
            }
            const started = Date.now();
            const page = await context.newPage();
            page.on('pageerror', (e) => fail(where, `script error: ${e.message}`));
            page.on('console', (m) => {
                if (m.type() === 'error') fail(where, `console error: ${m.text()}`);
            });
            page.on('request', (r) => {
                const url = r.url();
                if (!url.startsWith('file:') && !url.startsWith('data:')) {
                    fail(where, `asks the network for ${url}`);
                }
            });
            await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
            pageCount += 1;

            // Diagrams: mermaid marks a block data-processed once it has drawn it.
            const want = book.expected.get(name) || 0;
            if (want > 0) {
                await page
                    .waitForFunction(
                        () => [...document.querySelectorAll('pre.mermaid')].every((p) => p.dataset.processed),
                        null,
                        { timeout: 30000 },
                    )
                    .catch(() => fail(where, 'mermaid did not finish within 30 s'));
            }
            const drawn = await page.evaluate(() => ({
                raw: document.querySelectorAll('code.language-mermaid').length,
                blocks: [...document.querySelectorAll('pre.mermaid')].map((p) => {
                    const svg = p.querySelector('svg');
                    return {
                        svg: !!svg,
                        kind: svg ? svg.getAttribute('aria-roledescription') : null,
                        error: !!p.querySelector('.error-icon, .error-text'),
                    };
                }),
            }));
            if (drawn.raw > 0) fail(where, `${drawn.raw} mermaid block(s) left as code: the preprocessor did not run`);
            if (drawn.blocks.length !== want) {
                fail(where, `${drawn.blocks.length} diagram(s) on the page, ${want} in the Markdown`);
            }
            drawn.blocks.forEach((b, i) => {
                if (!b.svg) fail(where, `diagram ${i + 1} is not an SVG`);
                else if (b.error || b.kind === 'error') fail(where, `diagram ${i + 1} is mermaid's syntax error picture`);
                else diagrams += 1;
            });
            if (shots && name !== 'print.html' && drawn.blocks.length > 0) {
                await screenshots(page, `${book.lang}-${name.replace(/\.html$/, '')}`);
            }

            // The language links, on the pages of SUMMARY.md and the print page.
            if (book.expected.has(name) && others(book).length > 0) {
                const twins = (names) => names.map((n) => pathToFileURL(path.join(others(book)[0].where, n)).href);
                const found = await languageLinks(page);
                const lines = name === 'print.html' ? book.chapters : [name];
                sameLinks(where, 'the line under the title', found.lines, twins(lines));
                sameLinks(where, 'the language switch', found.switches, twins([name]));
                languageLines += found.lines.filter((l) => l !== null).length;
            }

            // Links, after the page's scripts ran (repo-links.js among them).
            const found = await page.evaluate(() => ({
                ids: [...document.querySelectorAll('[id], a[name]')].map((e) => e.id || e.getAttribute('name')),
                links: [...document.querySelectorAll('a[href]')].map((a) => a.href),
            }));
            ids.set(file, new Set(found.ids));
            for (const href of found.links) {
                const url = new URL(href);
                if (url.protocol !== 'file:') continue; // https: and mailto: are not the books'
                links += 1;
                const target = fileURLToPath(url);
                if (!insideBooks(target)) fail(where, `link out of the books: ${shown(target)}`);
                else if (!fs.existsSync(target)) fail(where, `broken link: ${shown(target)}`);
                else if (fs.statSync(target).isDirectory()) fail(where, `link to a folder: ${shown(target)}`);
                else if (url.hash.length > 1) anchors.push([where, target, decodeURIComponent(url.hash.slice(1))]);
            }
            await page.close();
            console.log(
                `${where}: ${drawn.blocks.length} diagram(s), ${found.links.length} links, ${Date.now() - started} ms`,
            );
        }
    }

    for (const [from, file, id] of anchors) {
        const known = ids.get(file);
        if (known && !known.has(id)) fail(from, `broken anchor: ${shown(file)}#${id}`);
    }

    // Search, as a reader does it: open the search bar, type, read the results.
    for (const book of books) {
        for (const [term, where] of searches[book.lang] || []) {
            const page = await context.newPage();
            page.on('pageerror', (e) => fail(`${book.lang} search`, `script error: ${e.message}`));
            await page.goto(pathToFileURL(path.join(book.where, 'index.html')).href, { waitUntil: 'load' });
            await page.click('#mdbook-search-toggle');
            // A Chinese query is typed through an input method, which hands
            // the box the whole word, then a key (up) that confirms it.
            await page.locator('#mdbook-searchbar').fill(term);
            await page.locator('#mdbook-searchbar').press('End');
            const hits = await page
                .waitForFunction(
                    () => {
                        const a = [...document.querySelectorAll('#mdbook-searchresults a')];
                        return a.length > 0 && a.map((x) => x.getAttribute('href'));
                    },
                    null,
                    { timeout: 15000 },
                )
                .then((h) => h.jsonValue())
                .catch(() => []);
            const pagesHit = [...new Set(hits.map((h) => h.replace(/[?#].*$/, '')))];
            if (!pagesHit.includes(where)) {
                fail(`${book.lang} search`, `${term}: ${where} not among the results (${pagesHit.join(', ') || 'none'})`);
            } else {
                console.log(`${book.lang} search ${term}: ${hits.length} results, in ${pagesHit.join(', ')}`);
            }
            await page.close();
        }
    }

    await browser.close();
    console.log(
        `${books.length} book(s), ${pageCount} pages opened, ${diagrams} diagrams drawn, ` +
            `${links} links and ${anchors.length} anchors followed, ${languageLines} language lines led to their twins`,
    );
}

// A PNG of every diagram of the page, named after the page and the section
// it is in.
async function screenshots(page, prefix) {
    fs.mkdirSync(shots, { recursive: true });
    // The menu bar stays on top when scrolled: hide it for the picture.
    await page.addStyleTag({ content: '#mdbook-menu-bar { visibility: hidden !important; }' });
    const sections = await page.evaluate(() =>
        [...document.querySelectorAll('pre.mermaid')].map((pre) => {
            const headings = [...document.querySelectorAll('main h1[id], main h2[id], main h3[id]')];
            const before = headings.filter((h) => h.compareDocumentPosition(pre) & Node.DOCUMENT_POSITION_FOLLOWING);
            return before.length > 0 ? before[before.length - 1].id : 'top';
        }),
    );
    const blocks = await page.$$('pre.mermaid');
    for (let i = 0; i < blocks.length; i++) {
        const same = sections.slice(0, i).filter((s) => s === sections[i]).length;
        const shot = `${prefix}-${sections[i]}${same > 0 ? `-${same + 1}` : ''}.png`;
        await blocks[i].scrollIntoViewIfNeeded();
        await blocks[i].screenshot({ path: path.join(shots, shot) });
    }
}

// The editions under `mdbook serve`, one server each: the language links of
// every page, and one click on each.
async function checkServed() {
    const { browser, context } = await launch();
    let checked = 0;
    for (const book of books) {
        const other = others(book)[0];
        if (!other) break;
        for (const name of [...book.expected.keys()]) {
            const where = `${book.lang} served/${name}`;
            const page = await context.newPage();
            page.on('pageerror', (e) => fail(where, `script error: ${e.message}`));
            const response = await page.goto(book.where + name, { waitUntil: 'load' });
            if (!response || response.status() !== 200) {
                fail(where, `answered ${response ? response.status() : 'nothing'}`);
                await page.close();
                continue;
            }
            const found = await languageLinks(page);
            const lines = name === 'print.html' ? book.chapters : [name];
            sameLinks(where, 'the line under the title', found.lines, lines.map((n) => other.where + n));
            sameLinks(where, 'the language switch', found.switches, [other.where + name]);
            checked += found.lines.filter((l) => l !== null).length;
            // Follow the line under the title of the first chapter, as a reader would.
            if (name === book.chapters[1] && found.lines[0]) {
                await Promise.all([page.waitForURL(other.where + name), page.click('main h1 + p > a')]).catch(
                    (e) => fail(where, `clicking the line under the title: ${e.message.split('\n')[0]}`),
                );
                const lang = await page.evaluate(() => document.documentElement.lang);
                if (page.url() !== other.where + name || lang !== other.lang) {
                    fail(where, `its line under the title led to ${page.url()} (${lang})`);
                } else {
                    console.log(`${where}: its line under the title led to ${page.url()} (${lang})`);
                }
            }
            await page.close();
        }
    }
    await browser.close();
    console.log(`served: ${checked} language lines led to their twins`);
}

(served ? checkServed() : checkBuilt())
    .catch((e) => fail('check', e.stack || String(e)))
    .finally(() => {
        if (failures.length > 0) {
            for (const f of failures) console.error(`FAIL ${f}`);
            console.error(`book check: ${failures.length} failure(s)`);
            process.exit(1);
        }
        console.log(served ? 'book check (served): passed' : 'book check: passed');
    });
