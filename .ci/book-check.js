// Checks the built book in headless Chromium, as a reader would open it:
// from disk (file://), offline. Run by .ci/book, which installs what this
// needs (playwright-core, only to drive Debian's chromium) and builds the
// book first.
//
//     node .ci/book-check.js DOCS_DIR BOOK_DIR [SHOTS_DIR]
//
// DOCS_DIR is the book's source (docs/), BOOK_DIR its build (target/book/en).
// It fails, and says where, when:
// - a chapter of docs/ is not in SUMMARY.md, or a page of SUMMARY.md was
//   not built or does not load;
// - a page logs an error, or asks for anything but a file of the book (the
//   book must work with no network);
// - a ```mermaid block of the Markdown did not become a drawn diagram (an
//   <svg> that is not mermaid's "syntax error" picture);
// - the search does not find 'drain' in chapter 3 and rinfo in chapter 4;
// - a link on any page leads to a file the book does not have, to a
//   folder, out of the book, or to an anchor its page does not have.
// SHOTS_DIR, if given, gets a PNG of every diagram, named PAGE-SECTION.png.
'use strict';

const fs = require('fs');
const path = require('path');
const { pathToFileURL, fileURLToPath } = require('url');
const { chromium } = require('playwright-core');

const [docs, book, shots] = process.argv.slice(2).map((p) => p && path.resolve(p));
if (!docs || !book) {
    console.error('usage: node .ci/book-check.js DOCS_DIR BOOK_DIR [SHOTS_DIR]');
    process.exit(2);
}

const failures = [];
const fail = (where, what) => failures.push(`${where}: ${what}`);

// The pages the book must have, from SUMMARY.md, and the diagrams in each.
const summary = fs.readFileSync(path.join(docs, 'SUMMARY.md'), 'utf8');
const chapters = [...summary.matchAll(/\]\(([^)#]+\.md)\)/g)].map((m) => m[1]);
for (const md of fs.readdirSync(docs)) {
    if (md.endsWith('.md') && md !== 'SUMMARY.md' && !chapters.includes(md)) {
        fail(md, 'not in SUMMARY.md, so not in the book');
    }
}
const diagramsIn = (md) =>
    (fs.readFileSync(path.join(docs, md), 'utf8').match(/^```mermaid[ \t]*$/gm) || []).length;
const htmlOf = (md) => (md === 'README.md' ? 'index.html' : md.replace(/\.md$/, '.html'));
const expected = new Map(chapters.map((md) => [htmlOf(md), diagramsIn(md)]));
// The print page holds every chapter in one.
expected.set('print.html', [...expected.values()].reduce((a, b) => a + b, 0));

// Every other HTML file of the build is opened too, for its links. 404.html
// is left out: a web server sends it for a missing URL, and it names its
// assets from the site's root, which a file:// URL does not have.
const allHtml = [];
(function walk(dir) {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (entry.name.endsWith('.html')) allHtml.push(path.relative(book, full));
    }
})(book);
const pages = [...new Set([...expected.keys(), ...allHtml])].filter((p) => p !== '404.html');

const insideBook = (file) => file === book || file.startsWith(book + path.sep);

async function main() {
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
    const ids = new Map(); // page -> Set of its ids
    const anchors = []; // [from page, target page, id]
    let diagrams = 0;
    let links = 0;

    for (const name of pages) {
        const file = path.join(book, name);
        if (!fs.existsSync(file)) {
            fail(name, 'missing from the build');
            continue;
        }
        const started = Date.now();
        const page = await context.newPage();
        page.on('pageerror', (e) => fail(name, `script error: ${e.message}`));
        page.on('console', (m) => {
            if (m.type() === 'error') fail(name, `console error: ${m.text()}`);
        });
        page.on('request', (r) => {
            const url = r.url();
            if (!url.startsWith('file:') && !url.startsWith('data:')) {
                fail(name, `asks the network for ${url}`);
            }
        });
        await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });

        // Diagrams: mermaid marks a block data-processed once it has drawn it.
        const want = expected.get(name) || 0;
        if (want > 0) {
            await page
                .waitForFunction(
                    () => [...document.querySelectorAll('pre.mermaid')].every((p) => p.dataset.processed),
                    null,
                    { timeout: 30000 },
                )
                .catch(() => fail(name, 'mermaid did not finish within 30 s'));
        }
        const drawn = await page.evaluate(() => ({
            raw: document.querySelectorAll('code.language-mermaid').length,
            blocks: [...document.querySelectorAll('pre.mermaid')].map((p) => {
                const svg = p.querySelector('svg');
                return {
                    svg: !!svg,
                    kind: svg ? svg.getAttribute('aria-roledescription') : null,
                    error: !!p.querySelector('.error-icon, .error-text'),
                    text: p.textContent.slice(0, 60),
                };
            }),
        }));
        if (drawn.raw > 0) fail(name, `${drawn.raw} mermaid block(s) left as code: the preprocessor did not run`);
        if (drawn.blocks.length !== want) {
            fail(name, `${drawn.blocks.length} diagram(s) on the page, ${want} in the Markdown`);
        }
        drawn.blocks.forEach((b, i) => {
            if (!b.svg) fail(name, `diagram ${i + 1} is not an SVG`);
            else if (b.error || b.kind === 'error') fail(name, `diagram ${i + 1} is mermaid's syntax error picture`);
            else diagrams += 1;
        });
        if (shots && name !== 'print.html' && drawn.blocks.length > 0) {
            fs.mkdirSync(shots, { recursive: true });
            // The menu bar stays on top when scrolled: hide it for the picture.
            await page.addStyleTag({ content: '#mdbook-menu-bar { visibility: hidden !important; }' });
            // Each picture is named after the page and the section it is in.
            const sections = await page.evaluate(() =>
                [...document.querySelectorAll('pre.mermaid')].map((pre) => {
                    const headings = [...document.querySelectorAll('main h1[id], main h2[id], main h3[id]')];
                    const before = headings.filter(
                        (h) => h.compareDocumentPosition(pre) & Node.DOCUMENT_POSITION_FOLLOWING,
                    );
                    return before.length > 0 ? before[before.length - 1].id : 'top';
                }),
            );
            const blocks = await page.$$('pre.mermaid');
            for (let i = 0; i < blocks.length; i++) {
                const same = sections.slice(0, i).filter((s) => s === sections[i]).length;
                const shot = `${name.replace(/\.html$/, '')}-${sections[i]}${same > 0 ? `-${same + 1}` : ''}.png`;
                await blocks[i].scrollIntoViewIfNeeded();
                await blocks[i].screenshot({ path: path.join(shots, shot) });
            }
        }

        // Links, after the page's scripts ran (repo-links.js among them).
        const found = await page.evaluate(() => ({
            ids: [...document.querySelectorAll('[id], a[name]')].map((e) => e.id || e.getAttribute('name')),
            links: [...document.querySelectorAll('a[href]')].map((a) => a.href),
        }));
        ids.set(name, new Set(found.ids));
        for (const href of found.links) {
            const url = new URL(href);
            if (url.protocol !== 'file:') continue; // https: and mailto: are not the book's
            links += 1;
            const target = fileURLToPath(url);
            const shown = path.relative(book, target) || '.';
            if (!insideBook(target)) fail(name, `link out of the book: ${shown}`);
            else if (!fs.existsSync(target)) fail(name, `broken link: ${shown}`);
            else if (fs.statSync(target).isDirectory()) fail(name, `link to a folder: ${shown}`);
            else if (url.hash.length > 1) {
                anchors.push([name, path.relative(book, target), decodeURIComponent(url.hash.slice(1))]);
            }
        }
        await page.close();
        console.log(`${name}: ${drawn.blocks.length} diagram(s), ${found.links.length} links, ${Date.now() - started} ms`);
    }

    for (const [from, to, id] of anchors) {
        const known = ids.get(to);
        if (known && !known.has(id)) fail(from, `broken anchor: ${to}#${id}`);
    }

    // Search, as a reader does it: open the search bar, type, read the results.
    const search = [
        ["'drain'", '03-events.html'],
        ['rinfo', '04-udp.html'],
    ];
    for (const [term, where] of search) {
        const page = await context.newPage();
        page.on('pageerror', (e) => fail('search', `script error: ${e.message}`));
        await page.goto(pathToFileURL(path.join(book, 'index.html')).href, { waitUntil: 'load' });
        await page.click('#mdbook-search-toggle');
        await page.locator('#mdbook-searchbar').pressSequentially(term);
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
            fail('search', `${term}: ${where} not among the results (${pagesHit.join(', ') || 'none'})`);
        } else {
            console.log(`search ${term}: ${hits.length} results, in ${pagesHit.join(', ')}`);
        }
        await page.close();
    }

    await browser.close();
    console.log(`${pages.length} pages opened, ${diagrams} diagrams drawn, ${links} links and ${anchors.length} anchors followed`);
}

main()
    .catch((e) => fail('check', e.stack || String(e)))
    .finally(() => {
        if (failures.length > 0) {
            for (const f of failures) console.error(`FAIL ${f}`);
            console.error(`book check: ${failures.length} failure(s)`);
            process.exit(1);
        }
        console.log('book check: passed');
    });
