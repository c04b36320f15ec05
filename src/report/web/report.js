// dial's HTML report: draws every view from the JSON blob in the page's dial-data element with ECharts (embedded in the
// same page; nothing is fetched). Each chart container gets data-points="N" (how many data points it drew) or, when
// drawing failed, a visible error and data-error, so that a browser test can tell an empty frame from a plot.
(function () {
  'use strict';

  var COLORS = {complete: '#3b6fd8', pruned: '#e0564f', fail: '#999999', running: '#f0a030', front: '#d6336c',
                infeasible: '#bbbbbb', best: '#2a9d4b', tradeoff: '#f59f00'};
  var MAX_SLICES = 24;      // slice plots beyond this many parameters would bury the page
  var CONTOUR_CELLS = 40;   // grid cells per axis of the interpolated contour
  var IDW_POWER = 2;        // inverse-distance weighting: w = 1 / d^2

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in (attrs || {})) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function fmt(v) {
    if (v === null || v === undefined) return '';
    if (typeof v !== 'number') return String(v);
    if (Number.isInteger(v)) return String(v);
    var a = Math.abs(v);
    return (a !== 0 && (a < 1e-3 || a >= 1e6)) ? v.toExponential(4) : String(+v.toPrecision(6));
  }
  function isFiniteNumber(v) { return typeof v === 'number' && isFinite(v); }

  // "2026-11-24 10:00:00.123456" (local time, as dial stores it) → milliseconds; null when absent or unreadable.
  function parseTime(text) {
    if (!text) return null;
    var m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(\.\d{1,3})?/.exec(text);
    var t = m ? Date.parse(m[1] + 'T' + m[2] + (m[3] || '')) : NaN;
    return isNaN(t) ? null : t;
  }
  function formatSeconds(s) {
    if (s === null || !isFinite(s)) return '';
    s = Math.max(0, Math.round(s));
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
    return Math.floor(s / 3600) + ' h ' + Math.floor(s / 60) % 60 + ' min';
  }

  var liveCharts = [];  // the ECharts instances on the page, disposed before a redraw
  var tableSort = {column: 0, ascending: true};  // kept across redraws of the live dashboard
  window.addEventListener('resize', function () { liveCharts.forEach(function (c) { c.resize(); }); });

  // Draws every view of `data` (the report's JSON) into the page, replacing what was drawn before. options:
  //   loadTrial(number, done): fetches more of a trial (attributes, times) for its detail panel; done(extra or null)
  //   selectedTrial: the number of the trial whose detail panel is open
  //   onSelectTrial(number or null): told when the open panel changes
  function render(data, options) {
    options = options || {};
    liveCharts.forEach(function (c) { c.dispose(); });
    liveCharts = [];
    ['summary', 'nav', 'views'].forEach(function (id) { document.getElementById(id).textContent = ''; });
    document.body.removeAttribute('data-report-ready');
    var openTrial = (options.selectedTrial === undefined) ? null : options.selectedTrial;
    var params = data.params;  // [{name, kind, log, low, high, choices}]
    var paramByName = {};
    params.forEach(function (p) { paramByName[p.name] = p; });
    var complete = data.trials.filter(function (t) { return t.state === 'COMPLETE' && t.values; });
    var nObjectives = data.directions.length;

    function paramDisplay(name, v) {
      var p = paramByName[name];
      if (v === undefined || v === null) return '';
      if (p && p.kind === 'categorical') return String(p.choices[v]);
      return fmt(v);
    }
    function better(a, b, k) { return data.directions[k] === 'MAXIMIZE' ? a > b : a < b; }

    // Draws one chart into `container`, turning any failure into a visible message.
    function chart(container, build) {
      try {
        var result = build();
        if (!result) return;
        var c = echarts.init(container, null, {renderer: 'svg'});
        var option = result.option;
        option.animation = false;
        c.setOption(option);
        liveCharts.push(c);
        container.setAttribute('data-points', String(result.points));
      } catch (e) {
        container.classList.add('chart-error');
        container.setAttribute('data-error', String(e));
        container.textContent = 'This view could not be drawn: ' + e;
      }
    }
    function note(container, text) {
      container.classList.add('chart-note');
      container.setAttribute('data-points', '0');
      container.textContent = text;
    }
    function section(id, title, help) {
      var s = el('section', {id: id});
      s.appendChild(el('h2', {}, title));
      if (help) s.appendChild(el('p', {'class': 'help'}, help));
      document.getElementById('views').appendChild(s);
      var nav = document.getElementById('nav');
      var a = el('a', {href: '#' + id}, title);
      nav.appendChild(a);
      return s;
    }
    function chartBox(parent, cls) {
      var d = el('div', {'class': 'chart' + (cls ? ' ' + cls : '')});
      parent.appendChild(d);
      return d;
    }
    function axisFor(p, extra) {
      var axis = Object.assign({name: p.name, nameLocation: 'middle', nameGap: 28}, extra || {});
      if (p.kind === 'categorical') {
        axis.type = 'value';
        axis.min = -0.5;
        axis.max = p.choices.length - 0.5;
        axis.interval = 1;
        axis.axisLabel = {formatter: function (v) { return Number.isInteger(v) ? String(p.choices[v]) : ''; }};
      } else {
        axis.type = p.log ? 'log' : 'value';
        axis.scale = true;
      }
      return axis;
    }

    // ---- summary ----
    (function summary() {
      var counts = {};
      data.trials.forEach(function (t) { counts[t.state] = (counts[t.state] || 0) + 1; });
      var box = document.getElementById('summary');
      var items = [['trials', data.trials.length]];
      Object.keys(counts).sort().forEach(function (s) { items.push([s.toLowerCase(), counts[s]]); });
      items.push(['objectives', data.metrics.map(function (m, k) {
        return m + ' (' + data.directions[k].toLowerCase() + ')'; }).join(', ')]);
      if (data.best) {
        items.push(['best', data.metrics[0] + ' ' + fmt(data.best.value) + ' (trial ' + data.best.number + ')']);
      }
      if (data.pareto) {
        items.push(['Pareto front', data.pareto.front.length + ' trial(s)']);
        if (isFiniteNumber(data.pareto.hypervolume)) items.push(['hypervolume', fmt(data.pareto.hypervolume)]);
      }
      items.forEach(function (kv) {
        var d = el('div', {'class': 'card'});
        d.appendChild(el('div', {'class': 'card-key'}, kv[0]));
        d.appendChild(el('div', {'class': 'card-value'}, String(kv[1])));
        box.appendChild(d);
      });
    })();

    // ---- optimisation history ----
    (function history() {
      var s = section('history', 'Optimisation history',
                      'Each COMPLETE trial\'s value by trial number' + (nObjectives === 1 ? ', with the best value so far.' : '.'));
      for (var k = 0; k < nObjectives; ++k) (function (k) {
        var box = chartBox(s);
        var finite = complete.filter(function (t) { return isFiniteNumber(t.values[k]); });
        if (finite.length === 0) { note(box, 'No COMPLETE trial has a finite ' + data.metrics[k] + ' yet.'); return; }
        chart(box, function () {
          var feasible = [], infeasible = [], best = [], current = null;
          complete.forEach(function (t) {
            var v = t.values[k];
            if (!isFiniteNumber(v)) return;
            (t.feasible ? feasible : infeasible).push([t.number, v]);
            if (t.feasible && (current === null || better(v, current, k))) current = v;
            if (current !== null) best.push([t.number, current]);
          });
          var series = [
            {name: data.metrics[k], type: 'scatter', data: feasible, symbolSize: 6, itemStyle: {color: COLORS.complete}}];
          if (infeasible.length) {
            series.push({name: 'infeasible', type: 'scatter', data: infeasible, symbolSize: 6, itemStyle: {color: COLORS.infeasible}});
          }
          if (nObjectives === 1) {
            series.push({name: 'best so far', type: 'line', step: 'end', data: best, showSymbol: false,
                         lineStyle: {color: COLORS.best, width: 2}, itemStyle: {color: COLORS.best}});
          }
          return {points: feasible.length + infeasible.length, option: {
            title: {text: data.metrics[k], left: 'center', textStyle: {fontSize: 13}},
            tooltip: {trigger: 'item', formatter: function (p) { return 'trial ' + p.value[0] + ': ' + fmt(p.value[1]); }},
            legend: {top: 22}, grid: {top: 60, left: 70, right: 30, bottom: 50},
            xAxis: {type: 'value', name: 'trial', nameLocation: 'middle', nameGap: 28},
            yAxis: {type: 'value', scale: true, name: data.metrics[k]},
            series: series}};
        });
      })(k);
    })();

    // ---- intermediate values ----
    (function intermediate() {
      var s = section('intermediate', 'Intermediate values',
                      'Learning curves reported with trial.report / {"step": …}. Pruned trials end in a red cross where they were stopped.');
      var box = chartBox(s, 'tall');
      var withCurves = data.trials.filter(function (t) { return t.intermediate.length > 0; });
      if (withCurves.length === 0) { note(box, 'No trial reported intermediate values.'); return; }
      chart(box, function () {
        var series = [], stops = [], points = 0, seen = {};
        withCurves.forEach(function (t) {
          var kind = t.state === 'COMPLETE' ? 'complete' : t.state === 'PRUNED' ? 'pruned' : t.state === 'RUNNING' ? 'running' : 'fail';
          var name = {complete: 'complete', pruned: 'pruned', running: 'running', fail: 'failed'}[kind];
          var curve = t.intermediate.filter(function (sv) { return sv[1] !== null; });
          points += curve.length;
          series.push({name: name, type: 'line', data: curve, showSymbol: false, lineStyle: {width: 1, opacity: 0.7},
                       itemStyle: {color: COLORS[kind]}, emphasis: {focus: 'series'}, trialNumber: t.number});
          seen[name] = true;
          if (t.state === 'PRUNED' && curve.length) stops.push(curve[curve.length - 1].concat([t.number]));
        });
        if (stops.length) {
          series.push({name: 'pruned here', type: 'scatter', data: stops, symbol: 'path://M0,0L10,10M10,0L0,10',
                       symbolSize: 9, itemStyle: {color: COLORS.pruned, borderColor: COLORS.pruned, borderWidth: 2}});
          seen['pruned here'] = true;
        }
        return {points: points, option: {
          tooltip: {trigger: 'item', formatter: function (p) {
            var n = p.seriesType === 'scatter' ? ' (trial ' + p.value[2] + ')' : '';
            return p.seriesName + ' · step ' + p.value[0] + ': ' + fmt(p.value[1]) + n; }},
          legend: {data: Object.keys(seen)}, grid: {top: 40, left: 70, right: 30, bottom: 50},
          xAxis: {type: 'value', name: 'step', nameLocation: 'middle', nameGap: 28},
          yAxis: {type: 'value', scale: true, name: 'intermediate value'},
          series: series}};
      });
    })();

    // ---- parallel coordinates ----
    (function parallel() {
      var s = section('parallel', 'Parallel coordinates',
                      'One line per COMPLETE trial across its parameters and objectives, coloured by ' + data.metrics[0] + '.');
      var box = chartBox(s, 'tall');
      if (complete.length === 0 || params.length === 0) { note(box, 'No COMPLETE trial with parameters yet.'); return; }
      chart(box, function () {
        var axes = [], dims = 0;
        params.forEach(function (p) {
          var a = {dim: dims++, name: p.name};
          if (p.kind === 'categorical') { a.type = 'category'; a.data = p.choices.map(String); }
          else if (p.log) { a.type = 'log'; }
          else { a.type = 'value'; a.scale = true; }
          axes.push(a);
        });
        data.metrics.forEach(function (m) { axes.push({dim: dims++, name: m, type: 'value', scale: true}); });
        var rows = [], lo = Infinity, hi = -Infinity;
        complete.forEach(function (t) {
          var row = params.map(function (p) {
            var v = t.params[p.name];
            if (v === undefined) return '-';
            return p.kind === 'categorical' ? String(p.choices[v]) : v;
          });
          var ok = true;
          t.values.forEach(function (v) { row.push(isFiniteNumber(v) ? v : '-'); ok = ok && isFiniteNumber(v); });
          if (isFiniteNumber(t.values[0])) { lo = Math.min(lo, t.values[0]); hi = Math.max(hi, t.values[0]); }
          rows.push(row);
        });
        var reverse = data.directions[0] === 'MAXIMIZE';
        return {points: rows.length, option: {
          parallelAxis: axes, parallel: {left: 60, right: 90, top: 40, bottom: 40},
          visualMap: {type: 'continuous', min: lo, max: hi === lo ? lo + 1 : hi, dimension: params.length, right: 0,
                      top: 'middle', calculable: true, text: [data.metrics[0], ''],
                      inRange: {color: reverse ? ['#d73027', '#fee090', '#4575b4'] : ['#4575b4', '#fee090', '#d73027']}},
          series: [{type: 'parallel', data: rows, lineStyle: {width: 1, opacity: 0.6}}]}};
      });
    })();

    // ---- slice plots ----
    (function slices() {
      var s = section('slice', 'Slice plots',
                      'Each parameter against ' + data.metrics[0] + ', one point per COMPLETE trial, coloured by trial number.');
      var grid = el('div', {'class': 'grid'});
      s.appendChild(grid);
      if (complete.length === 0 || params.length === 0) { note(chartBox(grid, 'small'), 'No COMPLETE trial with parameters yet.'); return; }
      params.slice(0, MAX_SLICES).forEach(function (p) {
        chart(chartBox(grid, 'small'), function () {
          var pts = [];
          complete.forEach(function (t) {
            var v = t.params[p.name], y = t.values[0];
            if (v !== undefined && isFiniteNumber(y)) pts.push([v, y, t.number]);
          });
          if (pts.length === 0) throw new Error('no COMPLETE trial has ' + p.name);
          return {points: pts.length, option: {
            title: {text: p.name, left: 'center', textStyle: {fontSize: 12}},
            tooltip: {formatter: function (q) { return 'trial ' + q.value[2] + ': ' + p.name + ' = ' + paramDisplay(p.name, q.value[0]) + ', ' + data.metrics[0] + ' = ' + fmt(q.value[1]); }},
            grid: {top: 30, left: 60, right: 15, bottom: 45},
            xAxis: axisFor(p), yAxis: {type: 'value', scale: true},
            visualMap: {show: false, dimension: 2, min: 0, max: Math.max(1, data.trials.length - 1),
                        inRange: {color: ['#c6dbef', '#08306b']}},
            series: [{type: 'scatter', data: pts, symbolSize: 6}]}};
        });
      });
      if (params.length > MAX_SLICES) s.appendChild(el('p', {'class': 'help'}, (params.length - MAX_SLICES) + ' more parameter(s) not shown.'));
    })();

    // ---- contour of the two most important parameters ----
    (function contour() {
      var ranked = (data.importance && data.importance[0] && data.importance[0].values) ?
          data.importance[0].values.map(function (v) { return v.name; }) : params.map(function (p) { return p.name; });
      ranked = ranked.filter(function (n) { return paramByName[n]; });
      var s = section('contour', 'Contour',
                      ranked.length >= 2 ? data.metrics[0] + ' over the two most important parameters, ' + ranked[0] + ' and ' + ranked[1] +
                      ', interpolated between the trials (inverse-distance weighting); the dots are the trials.' : '');
      var box = chartBox(s, 'tall');
      if (ranked.length < 2) { note(box, 'A contour needs two parameters; the study has ' + ranked.length + '.'); return; }
      var px = paramByName[ranked[0]], py = paramByName[ranked[1]];
      chart(box, function () {
        function scale(p, v) { return p.log ? Math.log(v) : v; }
        var pts = [];
        complete.forEach(function (t) {
          var x = t.params[px.name], y = t.params[py.name], z = t.values[0];
          if (x !== undefined && y !== undefined && isFiniteNumber(z)) pts.push([x, y, z, t.number]);
        });
        if (pts.length < 2) throw new Error('fewer than 2 COMPLETE trials have both ' + px.name + ' and ' + py.name);
        function range(p, i) {
          if (p.kind === 'categorical') return [-0.5, p.choices.length - 0.5];
          var lo = Math.min(p.low, Math.min.apply(null, pts.map(function (q) { return q[i]; })));
          var hi = Math.max(p.high, Math.max.apply(null, pts.map(function (q) { return q[i]; })));
          return [lo, hi];
        }
        var rx = range(px, 0), ry = range(py, 1);
        var sx0 = scale(px, rx[0]), sx1 = scale(px, rx[1]), sy0 = scale(py, ry[0]), sy1 = scale(py, ry[1]);
        var nx = px.kind === 'categorical' ? px.choices.length : CONTOUR_CELLS;
        var ny = py.kind === 'categorical' ? py.choices.length : CONTOUR_CELLS;
        var cells = [], zlo = Infinity, zhi = -Infinity;
        pts.forEach(function (q) { zlo = Math.min(zlo, q[2]); zhi = Math.max(zhi, q[2]); });
        // z(c) = Σ w_i z_i / Σ w_i, w_i = 1 / d(c, x_i)^p, with distances on axes scaled to [0, 1].
        for (var i = 0; i < nx; ++i) {
          for (var j = 0; j < ny; ++j) {
            var cx = sx0 + (i + 0.5) * (sx1 - sx0) / nx, cy = sy0 + (j + 0.5) * (sy1 - sy0) / ny;
            var num = 0, den = 0, exact = null;
            for (var k = 0; k < pts.length; ++k) {
              var dx = (scale(px, pts[k][0]) - cx) / ((sx1 - sx0) || 1), dy = (scale(py, pts[k][1]) - cy) / ((sy1 - sy0) || 1);
              var d2 = dx * dx + dy * dy;
              if (d2 < 1e-18) { exact = pts[k][2]; break; }
              var w = 1 / Math.pow(d2, IDW_POWER / 2);
              num += w * pts[k][2]; den += w;
            }
            var unscale = function (p, a) { return p.log ? Math.exp(a) : a; };
            cells.push([unscale(px, sx0 + i * (sx1 - sx0) / nx), unscale(py, sy0 + j * (sy1 - sy0) / ny),
                        unscale(px, sx0 + (i + 1) * (sx1 - sx0) / nx), unscale(py, sy0 + (j + 1) * (sy1 - sy0) / ny),
                        exact !== null ? exact : num / den]);
          }
        }
        var reverse = data.directions[0] === 'MAXIMIZE';
        return {points: pts.length, option: {
          tooltip: {formatter: function (q) {
            if (q.seriesType === 'scatter') return 'trial ' + q.value[3] + ': ' + data.metrics[0] + ' = ' + fmt(q.value[2]);
            return data.metrics[0] + ' ≈ ' + fmt(q.value[4]); }},
          grid: {top: 30, left: 80, right: 110, bottom: 55},
          xAxis: Object.assign(axisFor(px), {min: rx[0], max: rx[1], scale: false}),
          yAxis: Object.assign(axisFor(py, {nameGap: 55}), {min: ry[0], max: ry[1], scale: false}),
          visualMap: {min: zlo, max: zhi === zlo ? zlo + 1 : zhi, dimension: 4, seriesIndex: 0, right: 5, top: 'middle',
                      calculable: true, text: [data.metrics[0], ''],
                      inRange: {color: reverse ? ['#d73027', '#fee090', '#4575b4'] : ['#4575b4', '#fee090', '#d73027']}},
          series: [
            {type: 'custom', data: cells, silent: false, renderItem: function (params, api) {
              var a = api.coord([api.value(0), api.value(1)]), b = api.coord([api.value(2), api.value(3)]);
              return {type: 'rect', shape: {x: Math.min(a[0], b[0]), y: Math.min(a[1], b[1]),
                                            width: Math.abs(b[0] - a[0]) + 0.5, height: Math.abs(b[1] - a[1]) + 0.5},
                      style: {fill: api.visual('color')}};
            }, encode: {x: [0, 2], y: [1, 3]}},
            {type: 'scatter', data: pts, symbolSize: 5, itemStyle: {color: '#222', borderColor: '#fff', borderWidth: 1}}]}};
      });
    })();

    // ---- importance ----
    (function importance() {
      var s = section('importance', 'Parameter importance',
                      'How much of each objective\'s variation each parameter explains (' + (data.importance && data.importance[0] ? data.importance[0].evaluator : 'fanova') + ', normalised to add up to 1).');
      (data.importance || []).forEach(function (imp) {
        var box = chartBox(s);
        if (imp.error) { note(box, imp.objective + ': importance not available: ' + imp.error); return; }
        chart(box, function () {
          var rows = imp.values.slice().reverse();
          return {points: rows.length, option: {
            title: {text: imp.objective, left: 'center', textStyle: {fontSize: 13}},
            tooltip: {formatter: function (q) { return q.name + ': ' + fmt(q.value); }},
            grid: {top: 35, left: 140, right: 60, bottom: 30},
            xAxis: {type: 'value', min: 0, max: 1},
            yAxis: {type: 'category', data: rows.map(function (r) { return r.name; })},
            series: [{type: 'bar', data: rows.map(function (r) { return r.importance; }), itemStyle: {color: COLORS.complete},
                      label: {show: true, position: 'right', formatter: function (q) { return fmt(+q.value.toFixed(4)); }}}]}};
        });
      });
    })();

    // ---- Pareto front ----
    if (data.pareto) (function pareto() {
      var s = section('pareto', 'Pareto front',
                      'COMPLETE trials by pairs of objectives. The front (no other feasible trial is better in every objective) is in red; ' +
                      'the star is the balanced trade-off, the front point nearest the ideal point once each objective is scaled to [0, 1]. ' +
                      'Grey: infeasible (violates its constraints).' +
                      (isFiniteNumber(data.pareto.hypervolume) ? ' Hypervolume ' + fmt(data.pareto.hypervolume) + ' against the reference point (' + data.pareto.reference.map(fmt).join(', ') + ').' : ''));
      var onFront = {};
      data.pareto.front.forEach(function (n) { onFront[n] = true; });
      var pairs = [];
      for (var a = 0; a < nObjectives; ++a) for (var b = a + 1; b < nObjectives; ++b) pairs.push([a, b]);
      pairs.slice(0, 6).forEach(function (ab) {
        chart(chartBox(s, 'tall'), function () {
          var a = ab[0], b = ab[1], dominated = [], front = [], infeasible = [], tradeoff = [];
          complete.forEach(function (t) {
            var x = t.values[a], y = t.values[b];
            if (!isFiniteNumber(x) || !isFiniteNumber(y)) return;
            var p = [x, y, t.number];
            if (!t.feasible) infeasible.push(p);
            else if (onFront[t.number]) front.push(p);
            else dominated.push(p);
            if (t.number === data.pareto.trade_off) tradeoff.push(p);
          });
          front.sort(function (p, q) { return p[0] - q[0]; });
          return {points: dominated.length + front.length + infeasible.length, option: {
            tooltip: {formatter: function (q) { return (q.seriesName) + ' · trial ' + q.value[2] + ': ' + data.metrics[a] + ' ' + fmt(q.value[0]) + ', ' + data.metrics[b] + ' ' + fmt(q.value[1]); }},
            legend: {top: 0}, grid: {top: 40, left: 70, right: 30, bottom: 50},
            xAxis: {type: 'value', scale: true, name: data.metrics[a], nameLocation: 'middle', nameGap: 28},
            yAxis: {type: 'value', scale: true, name: data.metrics[b]},
            series: [
              {name: 'trials', type: 'scatter', data: dominated, symbolSize: 6, itemStyle: {color: COLORS.complete, opacity: 0.6}},
              {name: 'infeasible', type: 'scatter', data: infeasible, symbolSize: 6, itemStyle: {color: COLORS.infeasible}},
              {name: 'Pareto front', type: nObjectives === 2 ? 'line' : 'scatter', data: front, symbolSize: 8, showSymbol: true,
               lineStyle: {color: COLORS.front, type: 'dashed'}, itemStyle: {color: COLORS.front}},
              {name: 'balanced trade-off', type: 'scatter', data: tradeoff, symbol: 'path://M5,0L6.2,3.6L10,3.6L7,5.9L8.1,9.5L5,7.3L1.9,9.5L3,5.9L0,3.6L3.8,3.6Z',
               symbolSize: 22, itemStyle: {color: COLORS.tradeoff, borderColor: '#333', borderWidth: 1},
               label: {show: true, position: 'right', formatter: function (q) { return 'trial ' + q.value[2]; }}}]}};
        });
      });
    })();

    // ---- empirical distribution ----
    (function edf() {
      var s = section('edf', 'Empirical distribution', 'The share of COMPLETE trials with a value at or below each value.');
      for (var k = 0; k < nObjectives; ++k) (function (k) {
        var values = complete.map(function (t) { return t.values[k]; }).filter(isFiniteNumber).sort(function (a, b) { return a - b; });
        var box = chartBox(s);
        if (values.length === 0) { note(box, 'No COMPLETE trial has a finite ' + data.metrics[k] + '.'); return; }
        chart(box, function () {
          var pts = values.map(function (v, i) { return [v, (i + 1) / values.length]; });
          return {points: pts.length, option: {
            title: {text: data.metrics[k], left: 'center', textStyle: {fontSize: 13}},
            tooltip: {trigger: 'axis'}, grid: {top: 35, left: 60, right: 30, bottom: 50},
            xAxis: {type: 'value', scale: true, name: data.metrics[k], nameLocation: 'middle', nameGap: 28},
            yAxis: {type: 'value', min: 0, max: 1, name: 'share of trials'},
            series: [{type: 'line', step: 'end', data: pts, showSymbol: false, itemStyle: {color: COLORS.complete}}]}};
        });
      })(k);
    })();

    // ---- running trials ----
    (function running() {
      var live = data.trials.filter(function (t) { return t.state === 'RUNNING'; });
      if (live.length === 0) return;
      var s = section('running', 'Running', 'Trials running when the data was read, with the last intermediate value ' +
                      'each has reported; click one to see it.');
      var now = parseTime(data.generated);
      var t = el('table', {id: 'running-table', 'data-rows': String(live.length)});
      var head = el('tr');
      ['trial', 'started', 'running for', 'last step', 'last value', 'parameters'].forEach(function (h) {
        head.appendChild(el('th', {}, h));
      });
      var thead = el('thead');
      thead.appendChild(head);
      t.appendChild(thead);
      var tbody = el('tbody');
      live.forEach(function (trial) {
        var started = parseTime(trial.datetime_start);
        var last = trial.intermediate.length ? trial.intermediate[trial.intermediate.length - 1] : null;
        var row = el('tr', {'class': 'state-running clickable', 'data-number': String(trial.number)});
        row.addEventListener('click', function () { selectTrial(trial.number); });
        [trial.number, trial.datetime_start || '', formatSeconds(started !== null && now !== null ? (now - started) / 1000 : null),
         last ? last[0] : '', last ? fmt(last[1]) : '',
         params.filter(function (p) { return trial.params[p.name] !== undefined; }).map(function (p) {
           return p.name + '=' + paramDisplay(p.name, trial.params[p.name]); }).join(', ')
        ].forEach(function (c) { row.appendChild(el('td', {}, String(c))); });
        tbody.appendChild(row);
      });
      t.appendChild(tbody);
      var wrap = el('div', {'class': 'table-wrap'});
      wrap.appendChild(t);
      s.appendChild(wrap);
    })();

    // ---- trial table ----
    (function table() {
      var s = section('trials', 'Trials', 'Every trial; click a column header to sort, a row to see the trial.');
      var wrap = el('div', {'class': 'table-wrap'});
      var t = el('table', {id: 'trial-table'});
      var headers = ['number', 'state'].concat(data.metrics, params.map(function (p) { return p.name; }), ['duration (s)', 'note']);
      var thead = el('thead'), tr = el('tr');
      headers.forEach(function (h, i) {
        var th = el('th', {}, h);
        th.addEventListener('click', function () { sortBy(i); });
        tr.appendChild(th);
      });
      thead.appendChild(tr);
      t.appendChild(thead);
      var tbody = el('tbody');
      var rows = data.trials.map(function (trial) {
        var cells = [trial.number, trial.state];
        for (var k = 0; k < nObjectives; ++k) cells.push(trial.values ? trial.values[k] : null);
        params.forEach(function (p) { cells.push(trial.params[p.name] === undefined ? null : trial.params[p.name]); });
        cells.push(trial.duration);
        var noteText = trial.note || '';
        if (data.pareto && data.pareto.trade_off === trial.number) noteText = 'balanced trade-off' + (noteText ? '; ' + noteText : '');
        else if (data.pareto && data.pareto.front.indexOf(trial.number) >= 0) noteText = 'Pareto front' + (noteText ? '; ' + noteText : '');
        if (data.best && data.best.number === trial.number) noteText = 'best' + (noteText ? '; ' + noteText : '');
        cells.push(noteText);
        return {trial: trial, cells: cells};
      });
      function drawRows() {
        tbody.textContent = '';
        rows.forEach(function (r) {
          var row = el('tr', {'class': 'state-' + r.trial.state.toLowerCase() + ' clickable',
                              'data-number': String(r.trial.number)});
          row.addEventListener('click', function () { selectTrial(r.trial.number); });
          r.cells.forEach(function (c, i) {
            var isParam = i >= 2 + nObjectives && i < 2 + nObjectives + params.length;
            row.appendChild(el('td', {}, isParam ? paramDisplay(params[i - 2 - nObjectives].name, c) : fmt(c)));
          });
          tbody.appendChild(row);
        });
      }
      function sortBy(i, keep) {
        if (!keep) {
          tableSort.ascending = tableSort.column === i ? !tableSort.ascending : true;
          tableSort.column = i;
        }
        var ascending = tableSort.ascending;
        rows.sort(function (a, b) {
          var x = a.cells[i], y = b.cells[i];
          if (x === null || x === undefined) return 1;
          if (y === null || y === undefined) return -1;
          var c = (typeof x === 'number' && typeof y === 'number') ? x - y : String(x).localeCompare(String(y));
          return ascending ? c : -c;
        });
        drawRows();
      }
      if (tableSort.column < headers.length) sortBy(tableSort.column, true); else drawRows();
      t.appendChild(tbody);
      wrap.appendChild(t);
      s.appendChild(wrap);
      t.setAttribute('data-rows', String(rows.length));
    })();

    // ---- one trial's detail panel (opened from either table) ----
    function selectTrial(number) {
      openTrial = number;
      if (options.onSelectTrial) options.onSelectTrial(number);
      drawDetail();
    }
    function kvTable(rows) {
      var t = el('table', {'class': 'kv'});
      rows.forEach(function (kv) {
        var tr = el('tr');
        tr.appendChild(el('th', {}, kv[0]));
        tr.appendChild(el('td', {}, kv[1]));
        t.appendChild(tr);
      });
      return t;
    }
    function attrText(v) { return typeof v === 'string' ? v : JSON.stringify(v); }
    function drawDetail() {
      var panel = document.getElementById('trial-detail');
      var trial = null;
      data.trials.forEach(function (t) { if (t.number === openTrial) trial = t; });
      if (trial === null) {
        if (panel) panel.parentNode.removeChild(panel);
        return;
      }
      if (!panel) {
        panel = el('aside', {id: 'trial-detail'});
        document.body.appendChild(panel);
      }
      panel.textContent = '';
      panel.setAttribute('data-trial', String(trial.number));
      panel.setAttribute('data-state', trial.state);
      var close = el('button', {'class': 'close', title: 'close', 'aria-label': 'close'}, '\u00d7');
      close.addEventListener('click', function () { selectTrial(null); });
      panel.appendChild(close);
      panel.appendChild(el('h2', {}, 'Trial ' + trial.number));
      var rows = [['state', trial.state]];
      for (var k = 0; k < nObjectives; ++k) rows.push([data.metrics[k], trial.values ? fmt(trial.values[k]) : '']);
      params.forEach(function (p) {
        if (trial.params[p.name] !== undefined) rows.push([p.name, paramDisplay(p.name, trial.params[p.name])]);
      });
      rows.push(['started', trial.datetime_start || '']);
      if (trial.duration !== null) rows.push(['duration', formatSeconds(trial.duration)]);
      if (trial.note) rows.push(['note', trial.note]);
      panel.appendChild(kvTable(rows));
      var curve = trial.intermediate.filter(function (sv) { return sv[1] !== null; });
      if (curve.length) {
        panel.appendChild(el('h3', {}, 'Intermediate values'));
        var box = chartBox(panel, 'detail');
        chart(box, function () {
          return {points: curve.length, option: {
            tooltip: {trigger: 'axis'}, grid: {top: 20, left: 60, right: 20, bottom: 40},
            xAxis: {type: 'value', name: 'step', nameLocation: 'middle', nameGap: 25},
            yAxis: {type: 'value', scale: true},
            series: [{type: 'line', data: curve, showSymbol: curve.length < 40,
                      itemStyle: {color: COLORS[trial.state === 'PRUNED' ? 'pruned' : trial.state === 'RUNNING' ? 'running' : 'complete']}}]}};
        });
      }
      var extra = el('div', {id: 'trial-extra'});
      panel.appendChild(extra);
      if (options.loadTrial) {
        options.loadTrial(trial.number, function (more) {
          if (!more || openTrial !== trial.number || !extra.isConnected) return;
          if (more.datetime_complete) extra.appendChild(kvTable([['completed', more.datetime_complete]]));
          [['User attributes', more.user_attrs], ['System attributes', more.system_attrs]].forEach(function (section) {
            var keys = Object.keys(section[1] || {});
            if (!keys.length) return;
            extra.appendChild(el('h3', {}, section[0]));
            extra.appendChild(kvTable(keys.sort().map(function (key) { return [key, attrText(section[1][key])]; })));
          });
          extra.setAttribute('data-loaded', '1');
        });
      }
    }
    drawDetail();

    document.body.setAttribute('data-report-ready', '1');
  }

  window.dialReport = {render: render, el: el, fmt: fmt};
  var blob = document.getElementById('dial-data');
  if (blob) render(JSON.parse(blob.textContent));
})();
