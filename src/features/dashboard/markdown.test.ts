// The dashboard's Markdown renderer (web/assets/markdown.js) runs in the browser; it has no DOM
// dependency, so its safety and output are checked here in Node.
import { describe, expect, it } from 'vitest';

// A computed specifier: the browser module is plain JS without type declarations.
const modulePath = new URL('../../../web/assets/markdown.js', import.meta.url).href;
const { renderMarkdown, escapeHtml } = (await import(modulePath)) as {
  renderMarkdown(md: string): string;
  escapeHtml(s: string): string;
};

describe('renderMarkdown', () => {
  it('renders the parts of a postmortem', () => {
    const html = renderMarkdown(
      [
        '# Postmortem INC-1',
        '',
        'Impact: **12%** of requests _failed_ with `upstream_5xx`.',
        '',
        '## Timeline',
        '',
        '| Time | Event |',
        '| --- | --- |',
        '| 12:00:01 | detected |',
        '| 12:00:03 | rolled back v2 → v1 |',
        '',
        '- [x] contain',
        '- [ ] review thresholds',
        '',
        '1. first',
        '2. second',
        '',
        '```json',
        '{"a": 1}',
        '```',
        '> could this have been detected earlier?',
        '',
        '---',
        'See [runbook](https://example.invalid/sop) and [incident](#/incidents/INC-1).',
      ].join('\n'),
    );
    expect(html).toContain('<h1 id="md-postmortem-inc-1">Postmortem INC-1</h1>');
    expect(html).toContain('<strong>12%</strong>');
    expect(html).toContain('<em>failed</em>');
    expect(html).toContain('<code>upstream_5xx</code>');
    expect(html).toContain('<table><thead><tr><th>Time</th><th>Event</th></tr></thead><tbody><tr><td>12:00:01</td><td>detected</td></tr>');
    expect(html).toContain('<td>rolled back v2 → v1</td>');
    expect(html).toContain('<li class="task"><input type="checkbox" disabled checked> contain</li>');
    expect(html).toContain('<li class="task"><input type="checkbox" disabled> review thresholds</li>');
    expect(html).toContain('<ol><li>first</li><li>second</li></ol>');
    expect(html).toContain('<pre><code class="lang-json">{&quot;a&quot;: 1}</code></pre>');
    expect(html).toContain('<blockquote><p>could this have been detected earlier?</p></blockquote>');
    expect(html).toContain('<hr>');
    expect(html).toContain('<a href="https://example.invalid/sop" rel="noopener noreferrer" target="_blank">runbook</a>');
    expect(html).toContain('<a href="#/incidents/INC-1"');
  });

  it('escapes HTML everywhere, so model output in a postmortem cannot inject markup', () => {
    const html = renderMarkdown(
      [
        '# <img src=x onerror=alert(1)>',
        'text <script>alert(1)</script> and **<b>bold</b>**',
        '| <td onclick=x> | b |',
        '|---|---|',
        '| <iframe> | `<code>` |',
        '- <svg onload=alert(1)>',
        '```',
        '</code></pre><script>x()</script>',
        '```',
      ].join('\n'),
    );
    expect(html).not.toMatch(/<(img|script|iframe|svg|b|td onclick)[\s>]/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;/code&gt;&lt;/pre&gt;&lt;script&gt;');
  });

  it('drops links to anything but http(s), relative paths and in-page anchors', () => {
    for (const href of ['javascript:void0', 'JAVASCRIPT:void0', 'data:text/html,x', 'vbscript:x', '//evil.example/x']) {
      const html = renderMarkdown(`[click](${href})`);
      expect(html).toBe('<p>click</p>');
    }
    expect(renderMarkdown('[x](https://a.example/?q="onmouseover=alert(1))')).not.toContain('"onmouseover');
  });

  it('ignores its internal placeholder character in the input', () => {
    expect(renderMarkdown('a \uE0000\uE000 `b`')).toBe('<p>a 0 <code>b</code></p>');
  });

  it('escapes the five HTML-special characters', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });
});
