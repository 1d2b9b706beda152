// mdBook's search box finds English words; this makes it find Chinese ones
// (mdBook runs it on every page of both editions; it lives here for the
// reason repo-links.js does).
//
// mdBook indexes a section as its words: the text between two spaces, of
// which it keeps only what lies between the first and the last ASCII letter
// or digit (elasticlunr's English "trimmer"). So `套接字（socket）是` is
// indexed as `socket`, and a run of Chinese text with no Latin letter in it
// is not indexed at all; the search box trims the query the same way, and
// `套接字` becomes an empty query. Chinese puts no spaces between its words,
// so an index of words cut at spaces could not find them anyway.
//
// But the index also holds each section's full text (for the teaser under
// each result). A query with a Chinese character in it, and every query in
// the Chinese edition, is looked up in that text instead, as substrings:
// each of its space-separated terms, in a section's title, body and
// breadcrumbs, weighted as mdBook weighs them. Any other query goes to
// mdBook's own search, as before.
(() => {
    if (typeof elasticlunr === 'undefined') {
        return; // search is off
    }
    const han = /\p{Script=Han}/u;
    const chineseEdition = document.documentElement.lang.startsWith('zh');
    const wordSearch = elasticlunr.Index.prototype.search;

    elasticlunr.Index.prototype.search = function (query, options) {
        if (typeof query !== 'string' || !(chineseEdition || han.test(query))) {
            return wordSearch.call(this, query, options);
        }
        const terms = query.toLowerCase().split(/\s+/).filter((t) => t !== '');
        const fields = (options && options.fields) || { title: {}, body: {}, breadcrumbs: {} };
        const every = options && options.bool === 'AND';
        const results = [];
        for (const [ref, doc] of Object.entries(this.documentStore.docs)) {
            let score = 0;
            let termsFound = 0;
            for (const term of terms) {
                let found = false;
                for (const [field, { boost = 1 }] of Object.entries(fields)) {
                    const text = String(doc[field] || '').toLowerCase();
                    const count = text.split(term).length - 1;
                    // More often, and in a shorter text, ranks higher.
                    score += (boost * count) / Math.sqrt(text.length + 1);
                    found = found || count > 0;
                }
                termsFound += found ? 1 : 0;
            }
            if (termsFound === 0 || (every && termsFound < terms.length)) {
                continue;
            }
            results.push({ ref, score, doc: teaserFrom(doc, terms) });
        }
        return results.sort((a, b) => b.score - a.score);
    };

    // mdBook's teaser is the first words of the section unless one of them
    // starts with a term: in Chinese, rarely. So the result's text starts at
    // the sentence of the first match instead.
    function teaserFrom(doc, terms) {
        const body = doc.body.toLowerCase();
        const at = Math.min(...terms.map((t) => body.indexOf(t)).filter((i) => i >= 0));
        if (!Number.isFinite(at)) {
            return doc; // found in the title or the breadcrumbs only
        }
        // The start of the sentence the match is in, if that is at most 60
        // characters before it; or else of its clause; or the match itself.
        const from = Math.max(0, at - 60);
        const before = doc.body.slice(from, at);
        const after = (marks) =>
            Math.max(
                -1,
                ...marks.map((mark) => {
                    const i = before.lastIndexOf(mark);
                    return i < 0 ? -1 : i + mark.length;
                }),
            );
        let cut = after(['。', '！', '？', '. ']);
        if (cut < 0) cut = after(['，', '；', '：', '、', ' ']);
        const start = cut >= 0 ? from + cut : from === 0 ? 0 : at;
        return start === 0 ? doc : Object.assign({}, doc, { body: '… ' + doc.body.slice(start).trimStart() });
    }
})();
