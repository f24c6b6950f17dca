// conlink's topology page. Draws a topology (GET /v1/topology, or the JSON
// that `conlink graph --format html` embeds) as SVG, laid out here by a
// small force-directed layout (no library, nothing fetched from elsewhere),
// and keeps it live: link states from the server-sent events of
// /v1/events, rx/tx rates from /v1/links every 2 s. The shapes of the JSON
// are documented in docs/observability.md.
(function () {
  'use strict';

  const SVGNS = 'http://www.w3.org/2000/svg';
  const POLL_MS = 2000;
  const REFRESH_MS = 250;
  const HEAD_H = 22;
  const ROW_H = 16;
  const FAMILY = 'system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif';
  const MONO = 'ui-monospace, "DejaVu Sans Mono", monospace';
  const HOST_PARENT_KINDS = new Set(['vlan', 'macvlan', 'macvtap', 'ipvlan', 'ipvtap']);
  const STATES = ['up', 'impaired', 'down', 'failed', 'missing'];

  const $ = (id) => document.getElementById(id);
  const svg = $('graph');
  const embedded = $('conlink-topology');
  const live = !embedded;

  let topo = null; // the topology drawn
  let model = null; // its nodes, edges and groups
  let shape = ''; // what the layout depends on: redone when it changes
  const pos = new Map(); // node id -> {x, y}, kept across redraws
  const counters = new Map(); // link id -> {t, rx, tx} at the last poll
  const rates = new Map(); // link id -> {rx, tx} in bytes/s
  let selected = null; // {type: 'link' | 'node', id}
  let view = { x: 0, y: 0, k: 1 };
  let refreshTimer = null;

  // --- text measuring (the boxes fit their text) -------------------------
  const ctx = document.createElement('canvas').getContext('2d');
  const FONTS = {
    normal: '11px ' + FAMILY,
    bold: '600 11px ' + FAMILY,
    small: '9px ' + FAMILY,
    mono: '11px ' + MONO,
  };
  function textWidth(s, font) {
    ctx.font = FONTS[font || 'normal'];
    return ctx.measureText(s).width;
  }

  function el(name, attrs, text) {
    const e = document.createElementNS(SVGNS, name);
    for (const k in attrs || {}) {
      if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, attrs[k]);
    }
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // --- what a link looks like -------------------------------------------
  function netemText(l) {
    const n = l.netem || {};
    const parts = [];
    if (n.runtime_out) parts.push('out: ' + n.runtime_out);
    else if (n.config) parts.push('out: ' + n.config + ' (config)');
    if (n.runtime_in) parts.push('in: ' + n.runtime_in);
    return parts.join('; ');
  }
  function shownState(l) {
    if (topo.origin === 'config') return 'configured';
    if (l.state === 'up' && netemText(l)) return 'impaired';
    return l.state;
  }
  function fmtRate(b) {
    if (b >= 1e9) return (b / 1e9).toFixed(1) + ' GB/s';
    if (b >= 1e6) return (b / 1e6).toFixed(1) + ' MB/s';
    if (b >= 1e3) return (b / 1e3).toFixed(1) + ' kB/s';
    return Math.round(b) + ' B/s';
  }
  function rateText(id) {
    const r = rates.get(id);
    if (!r || (r.rx < 0.5 && r.tx < 0.5)) return '';
    return '↑' + fmtRate(r.tx) + ' ↓' + fmtRate(r.rx);
  }

  // --- the model: nodes, edges, groups ------------------------------------
  function buildModel(t) {
    const nodes = new Map();
    const edges = [];
    const plain = [];
    const groups = new Map();
    const byTarget = new Map();
    for (const l of t.links) {
      if (!byTarget.has(l.target)) byTarget.set(l.target, []);
      byTarget.get(l.target).push(l);
    }
    const targets = t.targets.slice();
    for (const name of byTarget.keys()) {
      if (!targets.some((x) => x.name === name)) targets.push({ name, kind: 'container' });
    }
    for (const tg of targets) {
      const links = byTarget.get(tg.name) || [];
      const cls = tg.kind === 'netns' ? 'netns' : tg.kind === 'service' ? 'service' : 'target';
      const replicas = tg.service ? targets.filter((x) => x.kind === 'container' && x.service === tg.service).length : 0;
      const sub = tg.kind === 'container' && tg.service ? (replicas > 1 ? 'replica' : 'service ' + tg.service) : tg.kind;
      const rows = links.map((l) => ({
        link: l,
        text: l.dev + (l.addresses.length ? '  ' + l.addresses.join(', ') : ''),
      }));
      const w = Math.ceil(Math.max(
        textWidth(tg.name, 'bold') + textWidth(sub, 'small') + 26,
        ...rows.map((r) => textWidth(r.text, 'mono') + 30),
        80));
      const id = 't:' + tg.name;
      nodes.set(id, { id, type: 'target', cls, label: tg.name, sub, rows, w, h: HEAD_H + rows.length * ROW_H + 6, info: tg });
      if (tg.kind === 'container' && tg.service && replicas > 1) {
        if (!groups.has(tg.service)) groups.set(tg.service, []);
        groups.get(tg.service).push(id);
      }
    }
    const bridge = (name, mode) => {
      const id = 'b:' + name;
      if (!nodes.has(id)) {
        const patch = mode === 'patch';
        const w = patch ? Math.max(44, textWidth(name, 'bold') + 20) : Math.ceil(textWidth(name, 'bold') + 36);
        nodes.set(id, { id, type: patch ? 'patch' : 'bridge', cls: patch ? 'patch' : 'bridge', label: name, sub: mode, w: Math.max(w, 56), h: patch ? 44 : 36 });
      }
      return id;
    };
    for (const b of t.bridges) bridge(b.name, b.mode);
    for (const tu of t.tunnels) {
      const id = 'tun:' + tu.name;
      nodes.set(id, { id, type: 'tunnel', cls: 'tunnel', label: tu.name, sub: tu.state, w: Math.ceil(textWidth(tu.name, 'mono') + 20), h: 24, info: tu });
      plain.push({ from: bridge(tu.bridge, 'linux'), to: id, dashed: false });
      const rid = 'r:' + tu.remote;
      if (!nodes.has(rid)) {
        nodes.set(rid, { id: rid, type: 'remote', cls: 'remote', label: tu.remote, sub: 'remote', w: Math.ceil(textWidth(tu.remote, 'mono') + 24), h: 30 });
      }
      plain.push({ from: id, to: rid, dashed: true });
    }
    for (const [name, links] of byTarget) {
      links.forEach((l, row) => {
        let to = null;
        let dashed = false;
        if (l.bridge) {
          to = bridge(l.bridge, 'linux');
        } else if (HOST_PARENT_KINDS.has(l.kind) && l.outer) {
          to = 'h:' + l.outer;
          dashed = true;
          if (!nodes.has(to)) {
            nodes.set(to, { id: to, type: 'host', cls: 'host', label: l.outer, sub: 'host', w: Math.ceil(textWidth(l.outer, 'mono') + 24), h: 30 });
          }
        }
        edges.push({ id: l.id, link: l, from: 't:' + name, row, to, dashed });
      });
    }
    return { nodes, edges, plain, groups };
  }

  function shapeOf(m) {
    const n = [...m.nodes.values()].map((v) => v.id + '/' + v.w + 'x' + v.h);
    const e = m.edges.map((x) => x.id + '>' + x.to).concat(m.plain.map((x) => x.from + '>' + x.to));
    return n.join('|') + '#' + e.join('|');
  }

  // --- layout: force-directed, sized boxes, then overlaps removed ----------
  function rng(seed) {
    return function () {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  // One try: place, simulate, separate. Returns the positions.
  function simulate(g, order, seed, fresh) {
    const { list, springs, nbrs, members, R } = g;
    const n = list.length;
    const X = new Float64Array(n);
    const Y = new Float64Array(n);
    const placed = list.map((v) => !fresh && pos.has(v.id));
    const random = rng(seed);
    list.forEach((v, i) => {
      if (placed[i]) {
        X[i] = pos.get(v.id).x;
        Y[i] = pos.get(v.id).y;
      }
    });
    // Hubs (bridges, tunnels, hosts) on a circle in the given order; each
    // target near the hubs it joins, spread by the golden angle; the rest
    // outside.
    const hubs = order.filter((i) => !placed[i]);
    const ring = 80 + 45 * hubs.length;
    hubs.forEach((i, k) => {
      const a = (2 * Math.PI * k) / hubs.length;
      X[i] = ring * Math.cos(a);
      Y[i] = ring * Math.sin(a);
      placed[i] = true;
    });
    let lone = 0;
    list.forEach((v, i) => {
      if (placed[i]) return;
      const near = nbrs[i].filter((j) => placed[j]);
      const a = i * 2.39996 + random();
      if (near.length) {
        const cx = near.reduce((s, j) => s + X[j], 0) / near.length;
        const cy = near.reduce((s, j) => s + Y[j], 0) / near.length;
        const d = 90 + R[i] + 25 * random();
        X[i] = cx + d * Math.cos(a);
        Y[i] = cy + d * Math.sin(a);
      } else {
        const d = ring + 200 + 30 * lone++;
        X[i] = d * Math.cos(a);
        Y[i] = d * Math.sin(a);
      }
    });
    const K = 70; // wanted gap between the borders of joined nodes
    const iterations = fresh ? 400 : 120;
    let temp = fresh ? 120 : 30;
    const cool = Math.pow(0.02, 1 / iterations);
    const dx = new Float64Array(n);
    const dy = new Float64Array(n);
    for (let it = 0; it < iterations; it++) {
      dx.fill(0);
      dy.fill(0);
      for (let i = 0; i < n; i++) {
        for (let j = i + 1; j < n; j++) {
          let ex = X[i] - X[j];
          let ey = Y[i] - Y[j];
          let d = Math.hypot(ex, ey);
          if (d < 0.01) {
            ex = random() - 0.5;
            ey = random() - 0.5;
            d = Math.hypot(ex, ey);
          }
          const gap = Math.max(d - R[i] - R[j], 8);
          const f = (K * K) / gap;
          dx[i] += (ex / d) * f;
          dy[i] += (ey / d) * f;
          dx[j] -= (ex / d) * f;
          dy[j] -= (ey / d) * f;
        }
      }
      for (const [a, b, w] of springs) {
        const ex = X[a] - X[b];
        const ey = Y[a] - Y[b];
        const d = Math.hypot(ex, ey) || 0.01;
        const gap = Math.max(d - R[a] - R[b], 0);
        const f = ((gap * gap) / K) * Math.min(w, 3);
        dx[a] -= (ex / d) * f;
        dy[a] -= (ey / d) * f;
        dx[b] += (ex / d) * f;
        dy[b] += (ey / d) * f;
      }
      for (const grp of members) {
        const cx = grp.reduce((s, i) => s + X[i], 0) / grp.length;
        const cy = grp.reduce((s, i) => s + Y[i], 0) / grp.length;
        for (const i of grp) {
          dx[i] -= (X[i] - cx) * 1.2;
          dy[i] -= (Y[i] - cy) * 1.2;
        }
        // What is not a replica keeps out of the service's frame.
        const f = frameOf(grp, X, Y, list);
        for (let i = 0; i < n; i++) {
          const out = outOfFrame(f, i, X, Y, list, grp);
          if (out) {
            dx[i] += out[0] * 4;
            dy[i] += out[1] * 4;
          }
        }
      }
      for (let i = 0; i < n; i++) {
        // A little gravity keeps unconnected parts from drifting away.
        dx[i] -= X[i] * 0.02;
        dy[i] -= Y[i] * 0.02;
        const d = Math.hypot(dx[i], dy[i]);
        if (d > 0) {
          const step = Math.min(d, temp);
          X[i] += (dx[i] / d) * step;
          Y[i] += (dy[i] / d) * step;
        }
      }
      temp *= cool;
    }
    if (fresh) landscape(X, Y);
    // No two boxes overlap (with a margin for labels).
    const PAD = 18;
    for (let pass = 0; pass < 80; pass++) {
      let moved = false;
      for (let i = 0; i < n; i++) {
        for (let j = i + 1; j < n; j++) {
          const ex = X[j] - X[i];
          const ey = Y[j] - Y[i];
          const ox = (list[i].w + list[j].w) / 2 + PAD - Math.abs(ex);
          const oy = (list[i].h + list[j].h) / 2 + PAD - Math.abs(ey);
          if (ox > 0 && oy > 0) {
            moved = true;
            if (ox < oy) {
              const s = (ex >= 0 ? 1 : -1) * (ox / 2 + 0.5);
              X[i] -= s;
              X[j] += s;
            } else {
              const s = (ey >= 0 ? 1 : -1) * (oy / 2 + 0.5);
              Y[i] -= s;
              Y[j] += s;
            }
          }
        }
      }
      for (const grp of members) {
        const f = frameOf(grp, X, Y, list);
        for (let i = 0; i < n; i++) {
          const out = outOfFrame(f, i, X, Y, list, grp);
          if (out) {
            moved = true;
            X[i] += out[0];
            Y[i] += out[1];
          }
        }
      }
      if (!moved) break;
    }
    return { X, Y };
  }

  // The frame drawn around a service's replicas (see render()).
  function frameOf(grp, X, Y, list) {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const i of grp) {
      x0 = Math.min(x0, X[i] - list[i].w / 2);
      y0 = Math.min(y0, Y[i] - list[i].h / 2);
      x1 = Math.max(x1, X[i] + list[i].w / 2);
      y1 = Math.max(y1, Y[i] + list[i].h / 2);
    }
    return { x0: x0 - 10, y0: y0 - 24, x1: x1 + 10, y1: y1 + 10 };
  }

  // How far node i must move to leave frame f (null when it is outside
  // or one of the frame's own members).
  function outOfFrame(f, i, X, Y, list, grp) {
    if (grp.includes(i)) return null;
    const m = 8;
    const hw = list[i].w / 2 + m, hh = list[i].h / 2 + m;
    const left = X[i] + hw - f.x0, right = f.x1 - (X[i] - hw);
    const up = Y[i] + hh - f.y0, down = f.y1 - (Y[i] - hh);
    if (left <= 0 || right <= 0 || up <= 0 || down <= 0) return null;
    const min = Math.min(left, right, up, down);
    if (min === left) return [-left, 0];
    if (min === right) return [right, 0];
    if (min === up) return [0, -up];
    return [0, down];
  }

  // Turn the layout so its longest extent runs across the screen (the
  // principal axis of the positions made horizontal): screens are wide.
  function landscape(X, Y) {
    const n = X.length;
    if (n < 3) return;
    let mx = 0, my = 0;
    for (let i = 0; i < n; i++) {
      mx += X[i] / n;
      my += Y[i] / n;
    }
    let sxx = 0, syy = 0, sxy = 0;
    for (let i = 0; i < n; i++) {
      const x = X[i] - mx, y = Y[i] - my;
      sxx += x * x;
      syy += y * y;
      sxy += x * y;
    }
    const a = -0.5 * Math.atan2(2 * sxy, sxx - syy);
    const c = Math.cos(a), s = Math.sin(a);
    for (let i = 0; i < n; i++) {
      const x = X[i] - mx, y = Y[i] - my;
      // Wider than tall as well: boxes are wide, labels run across.
      X[i] = (x * c - y * s) * 1.15;
      Y[i] = (x * s + y * c) * 0.85;
    }
  }

  function segmentsCross(ax, ay, bx, by, cx, cy, dx, dy) {
    const o = (px, py, qx, qy, rx, ry) => Math.sign((qx - px) * (ry - py) - (qy - py) * (rx - px));
    return o(ax, ay, bx, by, cx, cy) * o(ax, ay, bx, by, dx, dy) < 0 &&
      o(cx, cy, dx, dy, ax, ay) * o(cx, cy, dx, dy, bx, by) < 0;
  }

  // Lower is more readable: lines crossing each other, and (worse) lines
  // running under a box they do not belong to.
  function clutter(g, X, Y) {
    const { list, springs } = g;
    let score = 0;
    for (let p = 0; p < springs.length; p++) {
      const [a, b] = springs[p];
      for (let q = p + 1; q < springs.length; q++) {
        const [c, d] = springs[q];
        if (a === c || a === d || b === c || b === d) continue;
        if (segmentsCross(X[a], Y[a], X[b], Y[b], X[c], Y[c], X[d], Y[d])) score += 1;
      }
      for (let i = 0; i < list.length; i++) {
        if (i === a || i === b) continue;
        const hw = list[i].w / 2;
        const hh = list[i].h / 2;
        const x0 = X[i] - hw, x1 = X[i] + hw, y0 = Y[i] - hh, y1 = Y[i] + hh;
        if (segmentsCross(X[a], Y[a], X[b], Y[b], x0, y0, x1, y1) ||
            segmentsCross(X[a], Y[a], X[b], Y[b], x0, y1, x1, y0)) score += 3;
      }
    }
    return score;
  }

  // Hubs ordered so that those sharing targets sit next to each other on
  // the starting circle (greedy, from the busiest).
  function hubOrder(list, nbrs) {
    const hubs = list.map((v, i) => i).filter((i) => list[i].type !== 'target');
    const share = (a, b) => nbrs[a].filter((t) => nbrs[b].includes(t)).length + (nbrs[a].includes(b) ? 2 : 0);
    const left = new Set(hubs);
    const out = [];
    let cur = hubs.slice().sort((a, b) => nbrs[b].length - nbrs[a].length)[0];
    while (cur !== undefined) {
      out.push(cur);
      left.delete(cur);
      let best;
      let bestShare = -1;
      for (const h of left) {
        const s = share(cur, h);
        if (s > bestShare) {
          bestShare = s;
          best = h;
        }
      }
      cur = best;
    }
    return out;
  }

  // Lay out the model: a few tries from different starts, the least
  // cluttered kept. `fresh` ignores the positions nodes have now.
  function layout(m, fresh) {
    const list = [...m.nodes.values()];
    const n = list.length;
    if (!n) return;
    const index = new Map(list.map((v, i) => [v.id, i]));
    const pairs = new Map();
    for (const e of m.edges.concat(m.plain)) {
      if (!e.to || !index.has(e.to)) continue;
      const a = index.get(e.from);
      const b = index.get(e.to);
      const key = Math.min(a, b) + ',' + Math.max(a, b);
      pairs.set(key, [a, b, (pairs.has(key) ? pairs.get(key)[2] : 0) + 1]);
    }
    const springs = [...pairs.values()];
    const nbrs = list.map(() => []);
    for (const [a, b] of springs) {
      nbrs[a].push(b);
      nbrs[b].push(a);
    }
    const g = {
      list, springs, nbrs,
      members: [...m.groups.values()].map((ids) => ids.map((id) => index.get(id))),
      R: list.map((v) => 0.5 * Math.hypot(v.w, v.h)),
    };
    const greedy = hubOrder(list, nbrs);
    // Keeping what is placed needs one gentle run; a fresh layout gets a
    // few tries (each costs a few ms for 50 nodes).
    const tries = fresh ? (n > 150 ? 2 : 6) : 1;
    const random = rng(11);
    let best = null;
    for (let t = 0; t < tries; t++) {
      let order = greedy;
      if (t % 2 === 1) {
        // A rotated and sometimes reversed greedy order, or a shuffle.
        order = greedy.slice();
        for (let i = order.length - 1; i > 0; i--) {
          const j = Math.floor(random() * (i + 1));
          [order[i], order[j]] = [order[j], order[i]];
        }
      }
      const r = simulate(g, order, 1 + t, fresh);
      const score = tries > 1 ? clutter(g, r.X, r.Y) : 0;
      if (!best || score < best.score) best = { score, ...r };
    }
    list.forEach((v, i) => pos.set(v.id, { x: best.X[i], y: best.Y[i] }));
    document.body.dataset.layoutScore = String(best.score);
  }

  // --- drawing -------------------------------------------------------------
  function box(id) {
    const v = model.nodes.get(id);
    const p = pos.get(id) || { x: 0, y: 0 };
    return { v, x: p.x, y: p.y, w: v.w, h: v.h };
  }

  // Where the line from the centre of `b` towards (tx, ty) leaves it.
  function border(b, tx, ty) {
    const ex = tx - b.x;
    const ey = ty - b.y;
    if (!ex && !ey) return { x: b.x, y: b.y };
    if (b.v.type === 'bridge') {
      const rx = b.w / 2;
      const ry = b.h / 2;
      const t = 1 / Math.sqrt((ex * ex) / (rx * rx) + (ey * ey) / (ry * ry));
      return { x: b.x + ex * t, y: b.y + ey * t };
    }
    if (b.v.type === 'patch') {
      const t = 1 / (Math.abs(ex) / (b.w / 2) + Math.abs(ey) / (b.h / 2));
      return { x: b.x + ex * t, y: b.y + ey * t };
    }
    const t = Math.min((b.w / 2) / Math.abs(ex || 1e-9), (b.h / 2) / Math.abs(ey || 1e-9));
    return { x: b.x + ex * t, y: b.y + ey * t };
  }

  // The two ends of a link: the target's row (on the side facing the
  // other end) and the other node's border.
  function ends(e) {
    const a = box(e.from);
    const b = box(e.to);
    const y = a.y - a.h / 2 + HEAD_H + e.row * ROW_H + ROW_H / 2;
    const right = b.x >= a.x;
    const x = a.x + (right ? a.w / 2 : -a.w / 2);
    const q = border(b, x, y);
    return { x1: x, y1: y, x2: q.x, y2: q.y };
  }

  function linkTitle(l) {
    let s = l.id + ': ' + shownState(l);
    if (l.reason) s += ' (' + l.reason + ')';
    const nt = netemText(l);
    if (nt) s += '\nnetem ' + nt;
    const r = rateText(l.id);
    if (r) s += '\n' + r;
    return s;
  }

  function render() {
    svg.textContent = '';
    svg.classList.toggle('hide-rates', !$('show-rates').checked);
    const root = el('g', { id: 'viewport', transform: 'translate(' + view.x + ',' + view.y + ') scale(' + view.k + ')' });
    const gGroups = el('g', { class: 'groups' });
    const gPlain = el('g', { class: 'plain-edges' });
    const gLinks = el('g', { class: 'links' });
    const gNodes = el('g', { class: 'nodes' });
    const gRates = el('g', { class: 'rates' });
    root.append(gGroups, gPlain, gLinks, gNodes, gRates);
    svg.append(root);

    for (const [service, ids] of model.groups) {
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (const id of ids) {
        const b = box(id);
        x0 = Math.min(x0, b.x - b.w / 2);
        y0 = Math.min(y0, b.y - b.h / 2);
        x1 = Math.max(x1, b.x + b.w / 2);
        y1 = Math.max(y1, b.y + b.h / 2);
      }
      const g = el('g', { class: 'group', 'data-service': service });
      g.append(el('rect', { x: x0 - 10, y: y0 - 24, width: x1 - x0 + 20, height: y1 - y0 + 34, rx: 10 }));
      const n = ids.length;
      g.append(el('text', { x: x0 - 2, y: y0 - 10 }, 'service ' + service + ' · ' + n + (n === 1 ? ' replica' : ' replicas')));
      gGroups.append(g);
    }

    for (const e of model.plain) {
      const a = box(e.from);
      const b = box(e.to);
      const p = border(a, b.x, b.y);
      const q = border(b, a.x, a.y);
      const g = el('g', { class: 'plain' + (e.dashed ? ' dashed' : '') });
      g.append(el('line', { class: 'wire', x1: p.x, y1: p.y, x2: q.x, y2: q.y }));
      gPlain.append(g);
    }

    for (const e of model.edges) {
      const l = e.link;
      const state = shownState(l);
      const g = el('g', { class: 'link' + (isSelected('link', l.id) ? ' selected' : ''), 'data-link-id': l.id, 'data-state': state });
      g.append(el('title', {}, linkTitle(l)));
      if (e.to) {
        const p = ends(e);
        g.append(el('line', { class: 'hit', x1: p.x1, y1: p.y1, x2: p.x2, y2: p.y2 }));
        g.append(el('line', { class: 'wire', x1: p.x1, y1: p.y1, x2: p.x2, y2: p.y2 }));
        const rt = rateText(l.id);
        if (rt) {
          const t = 0.5;
          gRates.append(el('text', {
            class: 'rate', 'data-rate-for': l.id, 'text-anchor': 'middle',
            x: p.x1 + (p.x2 - p.x1) * t, y: p.y1 + (p.y2 - p.y1) * t - 4,
          }, rt));
        }
      }
      gLinks.append(g);
    }
    for (const v of model.nodes.values()) {
      const b = box(v.id);
      const g = el('g', {
        class: 'node ' + v.cls + (isSelected('node', v.id) ? ' selected' : ''),
        'data-node-id': v.id,
        transform: 'translate(' + (b.x - v.w / 2) + ',' + (b.y - v.h / 2) + ')',
      });
      if (v.type === 'target') {
        g.append(el('rect', { class: 'box', width: v.w, height: v.h, rx: 6 }));
        g.append(el('text', { class: 'title', x: 8, y: 15 }, v.label));
        g.append(el('text', { class: 'kind', x: v.w - 7, y: 14, 'text-anchor': 'end' }, v.sub));
        v.rows.forEach((r, i) => {
          const l = r.link;
          const row = el('g', { class: 'port', 'data-port-id': l.id, 'data-state': shownState(l), transform: 'translate(0,' + (HEAD_H + i * ROW_H) + ')' });
          row.append(el('title', {}, linkTitle(l)));
          row.append(el('circle', { cx: 11, cy: ROW_H / 2, r: 4 }));
          row.append(el('text', { class: 'porttext mono', x: 20, y: ROW_H / 2 + 4 }, r.text));
          g.append(row);
        });
      } else if (v.type === 'bridge') {
        g.append(el('ellipse', { cx: v.w / 2, cy: v.h / 2, rx: v.w / 2, ry: v.h / 2 }));
        g.append(el('text', { class: 'title', x: v.w / 2, y: v.h / 2 + 1, 'text-anchor': 'middle' }, v.label));
        g.append(el('text', { class: 'kind', x: v.w / 2, y: v.h / 2 + 11, 'text-anchor': 'middle' }, v.sub));
      } else if (v.type === 'patch') {
        const w = v.w, h = v.h;
        g.append(el('polygon', { points: [w / 2, 0, w, h / 2, w / 2, h, 0, h / 2].join(',') }));
        g.append(el('text', { class: 'title', x: w / 2, y: h / 2 + 1, 'text-anchor': 'middle' }, v.label));
        g.append(el('text', { class: 'kind', x: w / 2, y: h / 2 + 11, 'text-anchor': 'middle' }, 'patch'));
      } else if (v.type === 'remote') {
        const w = v.w, h = v.h;
        g.append(el('polygon', { points: [0, 8, w / 2, 0, w, 8, w, h, 0, h].join(',') }));
        g.append(el('text', { class: 'mono', x: w / 2, y: h / 2 + 7, 'text-anchor': 'middle' }, v.label));
        g.append(el('title', {}, 'tunnel remote ' + v.label));
      } else {
        g.append(el('rect', { width: v.w, height: v.h, rx: v.type === 'tunnel' ? 12 : 3 }));
        g.append(el('text', { class: 'mono', x: v.w / 2, y: v.h / 2 + 4, 'text-anchor': 'middle' }, v.label));
        g.append(el('title', {}, v.type === 'host' ? 'host interface ' + v.label : 'tunnel ' + v.label + ': ' + v.sub));
      }
      gNodes.append(g);
    }
    renderHeader();
    renderDetails();
  }

  // Many events at once (a whole topology starting) draw once.
  let renderTimer = null;
  function renderSoon() {
    if (renderTimer === null) {
      renderTimer = setTimeout(() => {
        renderTimer = null;
        render();
      }, 16);
    }
  }

  function isSelected(type, id) {
    return selected && selected.type === type && selected.id === id;
  }

  function renderHeader() {
    const counts = {};
    for (const l of topo.links) {
      const s = shownState(l);
      counts[s] = (counts[s] || 0) + 1;
    }
    const parts = Object.keys(counts).sort((a, b) => STATES.indexOf(a) - STATES.indexOf(b)).map((s) => counts[s] + ' ' + s);
    const nLinks = topo.links.length;
    $('summary').textContent = topo.targets.length + ' targets · ' + nLinks + (nLinks === 1 ? ' link' : ' links') +
      (parts.length ? ': ' + parts.join(', ') : '');
    const ms = $('milestone');
    if (topo.origin === 'live') {
      ms.textContent = topo.milestone ? 'all links connected' : 'not all links connected';
      ms.className = 'pill ' + (topo.milestone ? 'good' : 'warn');
    } else {
      ms.textContent = '';
    }
  }

  function setConn(text, cls) {
    const c = $('conn');
    c.textContent = text;
    c.className = 'pill ' + cls;
  }

  function renderLegend() {
    const lg = $('legend');
    lg.textContent = '';
    const items = topo.origin === 'config'
      ? [['configured', 'configured', '']]
      : [['up', 'up', ''], ['impaired', 'netem', ''], ['down', 'down', 'dashed'], ['failed', 'failed', ''], ['missing', 'missing', 'dotted']];
    for (const [state, text, style] of items) {
      const s = document.createElement('span');
      s.dataset.state = state;
      if (style) s.className = style;
      s.textContent = text;
      s.title = {
        up: 'up', impaired: 'up, impaired by netem', down: 'down by request (conlink link down)',
        failed: 'could not be made', missing: 'its container or namespace is not there',
        configured: 'from the config: nothing is known to run',
      }[state];
      lg.append(s);
    }
  }

  // --- details of a link or node --------------------------------------------
  function fmtTime(t) {
    return t ? new Date(t * 1000).toLocaleString() : '';
  }

  function renderDetails() {
    const aside = $('details');
    if (!selected) {
      aside.hidden = true;
      return;
    }
    const rows = [];
    let title = '';
    if (selected.type === 'link') {
      const l = topo.links.find((x) => x.id === selected.id);
      if (!l) {
        selected = null;
        aside.hidden = true;
        return;
      }
      title = 'link ' + l.id;
      rows.push(['state', shownState(l) + (shownState(l) !== l.state ? ' (' + l.state + ')' : '')]);
      if (l.reason) rows.push(['reason', l.reason]);
      rows.push(['target', l.target]);
      if (l.service) rows.push(['service', l.service]);
      rows.push(['dev', l.dev], ['kind', l.kind]);
      if (l.outer) rows.push([l.kind === 'veth' ? 'outer' : 'parent', l.outer]);
      if (l.bridge) rows.push(['bridge', l.bridge]);
      rows.push(['addresses', l.addresses.join(', ') || '—']);
      if (l.mac) rows.push(['mac', l.mac]);
      if (l.mtu) rows.push(['mtu', String(l.mtu)]);
      const n = l.netem || {};
      rows.push(['netem (config)', n.config || '—']);
      if (n.runtime_out) rows.push(['netem out (runtime)', n.runtime_out]);
      if (n.runtime_in) rows.push(['netem in (runtime)', n.runtime_in]);
      const r = rates.get(l.id);
      if (r) rows.push(['rate', '↑ tx ' + fmtRate(r.tx) + '  ↓ rx ' + fmtRate(r.rx)]);
      const c = l.counters;
      if (c) {
        rows.push(['rx', c.rx_bytes + ' B, ' + c.rx_packets + ' pkts, ' + c.rx_errors + ' err, ' + c.rx_dropped + ' drop']);
        rows.push(['tx', c.tx_bytes + ' B, ' + c.tx_packets + ' pkts, ' + c.tx_errors + ' err, ' + c.tx_dropped + ' drop']);
      }
      if (topo.origin === 'live') rows.push(['last change', fmtTime(l.last_change)]);
    } else {
      const v = model.nodes.get(selected.id);
      if (!v) {
        selected = null;
        aside.hidden = true;
        return;
      }
      title = (v.type === 'target' ? v.sub : v.type) + ' ' + v.label;
      if (v.type === 'target') {
        if (v.info.service) rows.push(['service', v.info.service]);
        for (const r of v.rows) rows.push([r.link.dev, shownState(r.link) + (r.link.addresses.length ? ' · ' + r.link.addresses.join(', ') : '')]);
        for (const c of topo.commands.filter((c) => c.target === v.label)) rows.push(['command', c.command.join(' ') + ' → ' + c.result]);
      } else if (v.type === 'bridge' || v.type === 'patch') {
        const b = topo.bridges.find((x) => x.name === v.label);
        rows.push(['mode', v.sub]);
        if (b && topo.origin === 'live') rows.push(['owned', b.owned ? 'made by conlink' : 'existed before']);
        const on = topo.links.filter((l) => l.bridge === v.label).map((l) => l.id);
        rows.push(['links', on.join(', ') || '—']);
      } else if (v.type === 'tunnel') {
        rows.push(['remote', v.info.remote], ['bridge', v.info.bridge], ['state', v.info.state]);
      }
    }
    $('details-title').textContent = title;
    const table = $('details-table');
    table.textContent = '';
    for (const [k, val] of rows) {
      const tr = document.createElement('tr');
      const th = document.createElement('th');
      const td = document.createElement('td');
      th.textContent = k;
      td.textContent = val;
      tr.append(th, td);
      table.append(tr);
    }
    aside.hidden = false;
  }

  // --- view: fit, pan, zoom, drag ----------------------------------------------
  function fit() {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const v of model.nodes.values()) {
      const b = box(v.id);
      x0 = Math.min(x0, b.x - b.w / 2);
      y0 = Math.min(y0, b.y - b.h / 2 - (v.type === 'target' && v.info.service ? 30 : 0));
      x1 = Math.max(x1, b.x + b.w / 2);
      y1 = Math.max(y1, b.y + b.h / 2);
    }
    if (!isFinite(x0)) return;
    const W = svg.clientWidth || 800;
    const H = svg.clientHeight || 600;
    const m = 24;
    const k = Math.min((W - 2 * m) / (x1 - x0 || 1), (H - 2 * m) / (y1 - y0 || 1), 1.25);
    view = { k, x: (W - (x1 - x0) * k) / 2 - x0 * k, y: (H - (y1 - y0) * k) / 2 - y0 * k };
  }

  function toGraph(evt) {
    const r = svg.getBoundingClientRect();
    return { x: (evt.clientX - r.left - view.x) / view.k, y: (evt.clientY - r.top - view.y) / view.k };
  }

  let drag = null;
  svg.addEventListener('pointerdown', (evt) => {
    const node = evt.target.closest('[data-node-id]');
    const p = toGraph(evt);
    drag = { node: node && !evt.target.closest('[data-port-id]') ? node.dataset.nodeId : null, sx: evt.clientX, sy: evt.clientY, px: p.x, py: p.y, vx: view.x, vy: view.y, moved: false };
    svg.setPointerCapture(evt.pointerId);
    if (!drag.node) svg.classList.add('panning');
  });
  svg.addEventListener('pointermove', (evt) => {
    if (!drag) return;
    if (Math.abs(evt.clientX - drag.sx) + Math.abs(evt.clientY - drag.sy) > 3) drag.moved = true;
    if (!drag.moved) return;
    if (drag.node) {
      const p = toGraph(evt);
      const q = pos.get(drag.node);
      q.x += p.x - drag.px;
      q.y += p.y - drag.py;
      drag.px = p.x;
      drag.py = p.y;
    } else {
      view.x = drag.vx + evt.clientX - drag.sx;
      view.y = drag.vy + evt.clientY - drag.sy;
    }
    render();
  });
  svg.addEventListener('pointerup', (evt) => {
    svg.classList.remove('panning');
    const d = drag;
    drag = null;
    if (!d || d.moved) return;
    // A click: what was under the pointer when it went down.
    const under = document.elementFromPoint(evt.clientX, evt.clientY);
    const link = under && (under.closest('[data-link-id]') || under.closest('[data-port-id]'));
    const node = under && under.closest('[data-node-id]');
    if (link) selected = { type: 'link', id: link.dataset.linkId || link.dataset.portId };
    else if (node) selected = { type: 'node', id: node.dataset.nodeId };
    else selected = null;
    render();
  });
  svg.addEventListener('wheel', (evt) => {
    evt.preventDefault();
    const r = svg.getBoundingClientRect();
    const mx = evt.clientX - r.left;
    const my = evt.clientY - r.top;
    const k = Math.min(4, Math.max(0.1, view.k * Math.exp(-evt.deltaY * 0.0015)));
    view.x = mx - ((mx - view.x) * k) / view.k;
    view.y = my - ((my - view.y) * k) / view.k;
    view.k = k;
    render();
  }, { passive: false });
  $('fit').addEventListener('click', () => {
    fit();
    render();
  });
  $('relayout').addEventListener('click', () => {
    layout(model, true);
    fit();
    render();
  });
  $('show-rates').addEventListener('change', render);
  $('close-details').addEventListener('click', () => {
    selected = null;
    render();
  });
  window.addEventListener('resize', () => {
    if (model) {
      fit();
      render();
    }
  });

  // --- data in ---------------------------------------------------------------
  function setTopology(t) {
    const first = !topo;
    topo = t;
    document.body.dataset.origin = t.origin;
    const m = buildModel(t);
    const s = shapeOf(m);
    model = m;
    if (s !== shape) {
      layout(m, first);
      shape = s;
      fit();
    }
    if (first) renderLegend();
    const msg = $('message');
    msg.hidden = t.links.length > 0;
    msg.textContent = t.links.length ? '' : 'No links in this topology.';
    render();
    document.body.dataset.ready = '1';
  }

  function message(text) {
    const msg = $('message');
    msg.hidden = !text;
    msg.textContent = text || '';
  }

  async function fetchJson(path) {
    const r = await fetch(path, { cache: 'no-store' });
    if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
    return r.json();
  }

  async function refresh() {
    refreshTimer = null;
    try {
      setTopology(await fetchJson('v1/topology'));
    } catch (e) {
      if (!topo) message('Cannot reach the sidecar: ' + e.message);
      scheduleRefresh(2000);
    }
  }

  function scheduleRefresh(ms) {
    if (refreshTimer === null) refreshTimer = setTimeout(refresh, ms || REFRESH_MS);
  }

  // Counters → rates; states too, in case an event was missed.
  async function poll() {
    try {
      const { links } = await fetchJson('v1/links');
      const now = performance.now();
      const known = new Map(topo.links.map((l) => [l.id, l]));
      let changed = links.length !== topo.links.length;
      for (const l of links) {
        const mine = known.get(l.id);
        if (!mine) {
          changed = true;
          continue;
        }
        Object.assign(mine, { state: l.state, reason: l.reason, netem: l.netem, counters: l.counters });
        const c = l.counters;
        if (!c) {
          counters.delete(l.id);
          rates.delete(l.id);
          continue;
        }
        const before = counters.get(l.id);
        counters.set(l.id, { t: now, rx: c.rx_bytes, tx: c.tx_bytes });
        if (before && now > before.t && c.rx_bytes >= before.rx && c.tx_bytes >= before.tx) {
          const dt = (now - before.t) / 1000;
          rates.set(l.id, { rx: (c.rx_bytes - before.rx) / dt, tx: (c.tx_bytes - before.tx) / dt });
        }
      }
      if (changed) scheduleRefresh();
      render();
    } catch (e) {
      // The event stream's state says the rest.
    }
  }

  function onEvent(ev) {
    document.body.dataset.lastEvent = ev.event + (ev.id ? ' ' + ev.id : '');
    const l = ev.id !== undefined && topo ? topo.links.find((x) => x.id === ev.id) : undefined;
    if (l) {
      switch (ev.event) {
        case 'link-down':
          l.state = 'down';
          delete l.reason;
          break;
        case 'link-up':
        case 'link-created':
          l.state = 'up';
          delete l.reason;
          break;
        case 'link-failed':
          l.state = 'failed';
          l.reason = ev.reason;
          break;
        case 'link-removed':
          l.state = 'missing';
          delete l.counters;
          rates.delete(l.id);
          break;
        case 'netem-changed':
          l.netem = l.netem || {};
          if (ev.direction !== 'in') l.netem.runtime_out = ev.netem || undefined;
          if (ev.direction !== 'out') l.netem.runtime_in = ev.netem || undefined;
          break;
      }
    }
    if (ev.event === 'milestone' && topo) topo.milestone = true;
    if (topo) renderSoon();
    // The whole truth (new replicas, links gone with their target) follows.
    scheduleRefresh();
  }

  function follow() {
    const es = new EventSource('v1/events');
    setConn('connecting…', 'warn');
    es.onopen = () => {
      setConn('live', 'good');
      document.body.dataset.events = 'open';
      // Whatever happened while not connected.
      scheduleRefresh(1);
    };
    es.onerror = () => {
      setConn('reconnecting…', 'bad');
      document.body.dataset.events = 'closed';
    };
    es.onmessage = (m) => {
      try {
        onEvent(JSON.parse(m.data));
      } catch (e) {
        // Not an event of ours: ignore it.
      }
    };
  }

  if (live) {
    follow();
    refresh();
    setInterval(() => {
      if (topo) poll();
    }, POLL_MS);
  } else {
    $('origin').textContent = 'from config (static)';
    try {
      setTopology(JSON.parse(embedded.textContent));
    } catch (e) {
      message('The embedded topology cannot be read: ' + e.message);
    }
  }
})();
