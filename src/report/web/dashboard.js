// dial's live dashboard (served by `dial dashboard`): on / the studies of the storage, on /study?name=S one study's
// report views (report.js) redrawn whenever its trials change. It asks the server for JSON every refresh_seconds and
// redraws only when the study's version changed, keeping the scroll position and the open trial.
(function () {
  'use strict';

  var query = new URLSearchParams(window.location.search);
  var studyName = window.location.pathname === '/study' ? query.get('name') : null;
  var refreshMs = 5000;
  var lastVersion = null;
  var redraws = 0;
  var selectedTrial = query.has('trial') ? Number(query.get('trial')) : null;
  var live = document.getElementById('live');

  var el = window.dialReport.el;  // report.js, loaded before this file
  var fmt = window.dialReport.fmt;
  function setLive(state, text) {
    live.setAttribute('data-state', state);
    live.textContent = text;
  }
  function clock() { return new Date().toLocaleTimeString(); }
  // GET url as JSON: done(body) on success, fail(message) otherwise (the server's {"error": ...} when it sent one).
  function getJson(url, done, fail) {
    fetch(url, {cache: 'no-store', credentials: 'same-origin'}).then(function (response) {
      return response.text().then(function (text) {
        var body = null;
        try { body = JSON.parse(text); } catch (e) { body = null; }
        if (!response.ok) {
          fail((body && body.error) || (response.status + ' ' + response.statusText + ': ' + text.trim()));
        } else if (body === null) {
          fail('the server sent something that is not JSON');
        } else {
          done(body);
        }
      });
    }).catch(function (e) { fail('cannot reach the dashboard server (' + e.message + ')'); });
  }
  function setRefresh(seconds) { if (seconds > 0) refreshMs = seconds * 1000; }

  // ---- the studies of the storage ----
  function drawStudies(doc) {
    document.getElementById('storage').textContent = doc.storage;
    document.getElementById('subtitle').textContent = doc.studies.length + ' stud' + (doc.studies.length === 1 ? 'y' : 'ies') +
        '; read ' + doc.generated + ', refreshed every ' + fmt(refreshMs / 1000) + ' s';
    var views = document.getElementById('views');
    views.textContent = '';
    var s = el('section', {id: 'studies'});
    s.appendChild(el('h2', {}, 'Studies'));
    views.appendChild(s);
    document.body.setAttribute('data-studies', String(doc.studies.length));
    if (doc.studies.length === 0) {
      s.appendChild(el('p', {'class': 'empty'}, 'No study in this storage yet: start one with dial tune.'));
      return;
    }
    var studies = doc.studies.slice().sort(function (a, b) {
      return String(b.last_activity || '').localeCompare(String(a.last_activity || ''));
    });
    var t = el('table', {id: 'study-table', 'data-rows': String(studies.length)});
    var head = el('tr');
    ['study', 'objectives', 'trials', 'complete', 'pruned', 'failed', 'running', 'best', 'last activity'].forEach(function (h) {
      head.appendChild(el('th', {}, h));
    });
    var thead = el('thead');
    thead.appendChild(head);
    t.appendChild(thead);
    var tbody = el('tbody');
    studies.forEach(function (study) {
      var tr = el('tr', {'data-study': study.name});
      var link = el('a', {href: '/study?name=' + encodeURIComponent(study.name)}, study.name);
      var name = el('td');
      name.appendChild(link);
      tr.appendChild(name);
      var objectives = study.metrics.map(function (m, k) { return m + ' (' + study.directions[k].toLowerCase() + ')'; });
      var best = '';
      if (study.best && study.best.number !== undefined) best = fmt(study.best.value) + ' (trial ' + study.best.number + ')';
      else if (study.best && study.best.pareto_front !== undefined) best = 'Pareto front of ' + study.best.pareto_front;
      var states = study.states || {};
      [objectives.join(', '), study.n_trials, states.COMPLETE || 0, states.PRUNED || 0, states.FAIL || 0,
       states.RUNNING || 0, best, study.last_activity || ''].forEach(function (c) { tr.appendChild(el('td', {}, String(c))); });
      tbody.appendChild(tr);
    });
    t.appendChild(tbody);
    var wrap = el('div', {'class': 'table-wrap'});
    wrap.appendChild(t);
    s.appendChild(wrap);
  }
  function pollStudies() {
    getJson('/api/studies', function (doc) {
      setRefresh(doc.refresh_seconds);
      drawStudies(doc);
      setLive('live', 'live · updated ' + clock());
      window.setTimeout(pollStudies, refreshMs);
    }, function (message) {
      setLive('error', message + ' · retrying');
      window.setTimeout(pollStudies, refreshMs);
    });
  }

  // ---- one study, live ----
  function rememberTrial(number) {
    selectedTrial = number;
    var q = new URLSearchParams(window.location.search);
    if (number === null) q.delete('trial'); else q.set('trial', String(number));
    window.history.replaceState(null, '', window.location.pathname + '?' + q.toString());
  }
  function loadTrial(number, done) {
    getJson('/api/trial?study=' + encodeURIComponent(studyName) + '&number=' + number, done, function () { done(null); });
  }
  function pollStudy() {
    getJson('/api/study?name=' + encodeURIComponent(studyName), function (data) {
      setRefresh(data.refresh_seconds);
      document.getElementById('storage').textContent = data.storage;
      if (data.version !== lastVersion) {
        var y = window.scrollY;
        document.getElementById('subtitle').textContent = data.trials.length + ' trial(s); read ' + data.generated +
            ', refreshed every ' + fmt(refreshMs / 1000) + ' s';
        window.dialReport.render(data, {selectedTrial: selectedTrial, onSelectTrial: rememberTrial, loadTrial: loadTrial});
        window.scrollTo(0, y);
        lastVersion = data.version;
        redraws += 1;
        document.body.setAttribute('data-version', data.version);
        document.body.setAttribute('data-redraws', String(redraws));
      }
      setLive('live', 'live · updated ' + clock());
      window.setTimeout(pollStudy, refreshMs);
    }, function (message) {
      setLive('error', message + ' · retrying');
      window.setTimeout(pollStudy, refreshMs);
    });
  }

  if (studyName === null) {
    pollStudies();
  } else {
    document.title = 'dial dashboard: ' + studyName;
    document.getElementById('title').textContent = studyName;
    pollStudy();
  }
})();
