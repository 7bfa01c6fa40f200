/** The page's only stylesheet, inline: the platform may run with no internet and serves no assets. */
export const PAGE_STYLE = `
:root{color-scheme:light dark;--fg:#1b1f24;--muted:#636c76;--bg:#fff;--card:#f6f8fa;--line:#d0d7de;--demand:#8fb8e8;--forecast:#d4760a;--warm:#1a7f37;--cold:#cf222e}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#8d96a0;--bg:#0d1117;--card:#161b22;--line:#30363d;--demand:#315f95}}
body{font:14px/1.45 system-ui,sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;max-width:1100px;padding:16px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:0}
.muted{color:var(--muted)}
form.filter{margin:8px 0}input{font:inherit;padding:3px 6px}
section.deployment{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:12px;margin:12px 0}
.row{display:flex;gap:16px;flex-wrap:wrap;align-items:flex-start}
table{border-collapse:collapse;font-size:13px}td,th{padding:2px 8px 2px 0;text-align:left;vertical-align:top}th{color:var(--muted);font-weight:500}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.state{display:inline-block;border-radius:10px;padding:0 8px;margin-right:4px;background:var(--line)}
.state.serving,.state.ready-idle{background:#1a7f3733}.state.failed{background:#cf222e33}.state.draining{background:#9a670033}
svg.plot text{font-size:10px;fill:var(--muted)}svg.plot .axis{stroke:var(--line)}
svg.plot rect.demand{fill:var(--demand)}svg.plot .forecast{fill:none;stroke:var(--forecast);stroke-width:1.5}
svg.plot .warm{fill:none;stroke:var(--warm);stroke-width:1.5}svg.plot .cold-start{fill:var(--cold)}
.legend span{margin-right:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:-1px}
.bar{display:inline-block;width:60px;height:8px;background:var(--line);border-radius:4px;overflow:hidden;vertical-align:middle}.bar i{display:block;height:100%;background:var(--warm)}
nav.pages a{margin-right:8px}
`;
