// Time-series charts on uPlot. A chart keeps its uPlot instance across refreshes and only swaps
// the data (setData), rebuilding when the set of series changes; it follows its container's width.
import uPlot from '/assets/vendor/uplot.esm.js';
import { fmtMs, fmtPct, h } from './dom.js';

/**
 * @typedef {{ label: string, color: string, dash?: number[], width?: number }} SeriesSpec
 * @typedef {{ at: number, label: string, color?: string }} Marker  at: epoch seconds
 */

/** @type {Record<string, (v: number | null) => string>} */
const formatters = {
  pct: (v) => (v === null ? '—' : fmtPct(v)),
  ms: (v) => (v === null ? '—' : fmtMs(v)),
  count: (v) => (v === null ? '—' : String(Math.round(v * 100) / 100)),
};

/** Axis ticks: shorter than the legend's values. */
/** @type {Record<string, (v: number) => string>} */
const tickFormatters = {
  pct: (v) => `${Math.round(v * 1000) / 10}%`,
  ms: (v) => (v >= 1000 ? `${Math.round(v / 100) / 10} s` : v >= 10 || v === 0 ? `${Math.round(v)} ms` : `${Math.round(v * 10) / 10} ms`),
  count: (v) => String(Math.round(v * 100) / 100),
};

/**
 * @param {string} title
 * @param {{ unit: 'pct' | 'ms' | 'count', height?: number, markers?: Marker[] }} options
 */
export function timeChart(title, options) {
  const plotBox = h('div', { class: 'chart-plot' });
  const empty = h('div', { class: 'chart-empty', hidden: true }, 'no traffic in this window');
  const root = h('figure', { class: 'chart', dataset: { chart: title } }, h('figcaption', null, title), plotBox, empty);
  /** @type {uPlot | null} */
  let plot = null;
  let signature = '';
  /** @type {Marker[]} */
  let markers = options.markers ?? [];
  const fmt = formatters[options.unit];
  const tick = tickFormatters[options.unit];

  const width = () => Math.max(200, plotBox.clientWidth || root.clientWidth || 360);

  /** @param {SeriesSpec[]} specs */
  function build(specs) {
    plot?.destroy();
    plotBox.replaceChildren();
    /** @type {uPlot.Options} */
    const opts = {
      width: width(),
      height: options.height ?? 150,
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: {
          time: true,
          // Markers (onset, detection) stay in view even when the data ends just before them.
          range: (_u, min, max) => {
            const at = markers.map((m) => m.at);
            return [Math.min(min ?? Infinity, ...at), Math.max(max ?? -Infinity, ...at)];
          },
        },
        y: {
          range: (_u, min, max) => {
            const top = options.unit === 'pct' ? Math.max(0.05, max ?? 0) : Math.max(1, max ?? 0);
            return [0, top * 1.1];
          },
        },
      },
      axes: [
        { stroke: '#667085', grid: { stroke: '#eef0f3' }, ticks: { stroke: '#eef0f3' } },
        {
          stroke: '#667085',
          size: 60,
          grid: { stroke: '#eef0f3' },
          ticks: { stroke: '#eef0f3' },
          values: (_u, splits) => splits.map((v) => tick(v)),
        },
      ],
      series: [
        { label: 'time' },
        ...specs.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: s.width ?? 1.5,
          dash: s.dash,
          spanGaps: false,
          points: { show: false },
          value: (/** @type {any} */ _u, /** @type {number | null} */ v) => fmt(v),
        })),
      ],
      hooks: {
        draw: [
          (u) => {
            // Vertical markers (incident onset and detection) drawn over the plot area.
            const c = u.ctx;
            // Labels of markers close together (onset, detection, containment within seconds) step down.
            let lastX = -Infinity;
            let row = 0;
            for (const m of markers) {
              const x = Math.round(u.valToPos(m.at, 'x', true));
              if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
              c.save();
              c.strokeStyle = m.color ?? '#dc2626';
              c.setLineDash([4, 3]);
              c.lineWidth = 1.5 * devicePixelRatio;
              c.beginPath();
              c.moveTo(x, u.bbox.top);
              c.lineTo(x, u.bbox.top + u.bbox.height);
              c.stroke();
              c.fillStyle = m.color ?? '#dc2626';
              c.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
              row = x - lastX < 70 * devicePixelRatio ? row + 1 : 0;
              lastX = x;
              c.fillText(m.label, x + 4 * devicePixelRatio, u.bbox.top + (12 + row * 13) * devicePixelRatio);
              c.restore();
            }
          },
        ],
      },
    };
    plot = new uPlot(opts, [[]], plotBox);
  }

  const resize = new ResizeObserver(() => {
    if (plot && plotBox.clientWidth > 0 && Math.abs(plot.width - width()) > 2) plot.setSize({ width: width(), height: options.height ?? 150 });
  });
  resize.observe(root);

  return {
    el: root,
    /**
     * @param {number[]} t epoch seconds
     * @param {SeriesSpec[]} specs
     * @param {Array<Array<number | null>>} ys one array per spec, aligned with t
     * @param {boolean} [hasTraffic] whether the window had any request (else "no traffic" shows)
     */
    update(t, specs, ys, hasTraffic) {
      const sig = specs.map((s) => `${s.label}|${s.color}|${s.dash ?? ''}`).join(';');
      if (!plot || sig !== signature) {
        signature = sig;
        build(specs);
      }
      const hasData = hasTraffic ?? ys.some((y) => y.some((v) => v !== null));
      empty.hidden = hasData || t.length === 0;
      plot?.setData(/** @type {any} */ ([t, ...ys]));
    },
    /** @param {Marker[]} next */
    setMarkers(next) {
      markers = next;
      plot?.redraw(false, false);
    },
    destroy() {
      resize.disconnect();
      plot?.destroy();
      plot = null;
    },
  };
}

/**
 * The three standard charts of a model's versions from a metrics answer
 * (`GET /api/v1/models/{name}/metrics`): error rate, latency p50/p95, feedback.
 * @param {(version: string) => string} colorOf
 * @param {{ markers?: Marker[], height?: number }} [options]
 */
export function modelCharts(colorOf, options = {}) {
  const errors = timeChart('Error rate', { unit: 'pct', ...options });
  const latency = timeChart('Latency p50 / p95', { unit: 'ms', ...options });
  const feedback = timeChart('Feedback ratings (+ / −)', { unit: 'count', ...options });
  const note = h('p', { class: 'muted small', hidden: true });
  const el = h('div', { class: 'chart-block' }, note, h('div', { class: 'charts' }, errors.el, latency.el, feedback.el));
  return {
    el,
    /** @param {any} metrics */
    update(metrics) {
      if (!metrics || metrics.available === false) {
        note.hidden = false;
        note.textContent = metrics?.reason ? `Charts unavailable: ${metrics.reason}.` : 'Charts unavailable: this server has no metrics endpoint.';
        return;
      }
      note.hidden = true;
      const vs = /** @type {any[]} */ (metrics.versions ?? []).filter((v) => !v.shadow);
      const t = metrics.t ?? [];
      const label = (/** @type {any} */ v) => v.version;
      const traffic = vs.some((v) => v.total?.requests > 0 || v.total?.feedbackPositive > 0 || v.total?.feedbackNegative > 0);
      // Seconds with neither requests nor ratings are gaps, not zeros.
      const fb = (/** @type {any} */ v, /** @type {number[]} */ arr) => arr.map((x, i) => (x === 0 && v.requests[i] === 0 ? null : x));
      errors.update(
        t,
        vs.map((v) => ({ label: label(v), color: colorOf(v.version) })),
        vs.map((v) => v.errorRate),
        traffic,
      );
      latency.update(
        t,
        vs.flatMap((v) => [
          { label: `${label(v)} p50`, color: colorOf(v.version) },
          { label: `${label(v)} p95`, color: colorOf(v.version), dash: [5, 4] },
        ]),
        vs.flatMap((v) => [v.p50, v.p95]),
        traffic,
      );
      feedback.update(
        t,
        vs.flatMap((v) => [
          { label: `${label(v)} +`, color: colorOf(v.version) },
          { label: `${label(v)} −`, color: colorOf(v.version), dash: [2, 3], width: 2 },
        ]),
        vs.flatMap((v) => [fb(v, v.feedbackPositive), fb(v, v.feedbackNegative)]),
        traffic,
      );
    },
    /** @param {Marker[]} markers */
    setMarkers(markers) {
      for (const c of [errors, latency, feedback]) c.setMarkers(markers);
    },
    destroy() {
      for (const c of [errors, latency, feedback]) c.destroy();
    },
  };
}
