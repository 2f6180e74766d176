/* Dashboard (/dashboard). Depends on /static/app.js (window.Mem0). */
(function () {
  'use strict';

  var M = window.Mem0;
  var el = M.el;
  var $ = function (id) { return document.getElementById(id); };

  var CONTEXT_NAME = /^[A-Za-z0-9._-]{1,64}$/;
  var PAGE_SIZE = 20;

  var state = {
    token: M.getToken(),
    user: null,
    contexts: [],
    current: null,   // name of the open context
    query: '',       // active search
    cursor: null,    // next_cursor of the memory list
    loadSeq: 0,      // ignores responses for a context/query no longer shown
    leaving: false   // set once the page is on its way to /login
  };

  /* ---------- session ---------- */

  /** Leaves for the login page; `ended` says why (expired or refused token). */
  function goToLogin(ended) {
    state.leaving = true;
    M.clearSession();
    window.location.replace(ended ? '/login?session=ended' : '/login');
  }

  /** Ends the session on the server (best effort: leaving must never be blocked), then leaves. */
  function endSessions(path, button) {
    button.disabled = true;
    var leave = function () { if (!state.leaving) goToLogin(false); };
    // A token that expired while the computer slept is renewed first: its session is
    // what is being ended.
    freshToken().then(function (token) {
      if (!token) return null;
      var refresh = M.getRefreshToken();
      return M.api(path, { method: 'POST', token: token, body: refresh ? { refresh_token: refresh } : undefined });
    }).then(leave, leave);
  }

  function onLogout() {
    endSessions('/auth/logout', $('logout'));
  }

  function onLogoutEverywhere() {
    endSessions('/auth/logout?scope=all', $('logout-all'));
  }

  /** A new access token (from this tab's refresh or another tab's) takes over everywhere on the page. */
  function adoptToken(token) {
    if (token === state.token) return;
    state.token = token;
    if (!$('token-details').hidden) setTokenRevealed(true);
    scheduleRefresh();
  }

  /**
   * Renews the token now (shared with any refresh under way). Resolves to the token to
   * use, or null when the session has ended (and the page is leaving).
   */
  function renew() {
    return M.refreshSession(state.token).then(function (outcome) {
      if (state.leaving) return null;
      if (outcome.token) {
        adoptToken(outcome.token);
        return outcome.token;
      }
      if (outcome.ended) {
        goToLogin(true);
        return null;
      }
      // The server could not be asked: carry on with the token; the request that
      // follows says what is wrong (or, if it is a 401, ends the session).
      return state.token;
    });
  }

  var refreshTimer = null;

  /** Renews silently at 80% of the token's lifetime, whether or not the page is used. */
  function scheduleRefresh() {
    window.clearTimeout(refreshTimer);
    if (!M.getRefreshToken()) return;
    var wait = M.msUntilRefresh(state.token);
    if (wait === null) return;
    refreshTimer = window.setTimeout(function () {
      renew().then(function (token) {
        // Still the old one (server unreachable): try again shortly.
        if (token && token === state.token && M.tokenRefreshDue(token)) {
          refreshTimer = window.setTimeout(scheduleRefresh, 5000);
        }
      });
    }, Math.min(wait, 2147483647));
  }

  /** The token for a request: renewed first when it is due. */
  function freshToken() {
    if (M.getRefreshToken() && M.tokenRefreshDue(state.token)) return renew();
    return Promise.resolve(state.token);
  }

  /**
   * Authenticated call. A 401 is answered with one refresh (shared with concurrent calls)
   * and one retry; when that does not help the session is over. Resolves to null then.
   */
  function call(path, method, body) {
    var send = function (token) {
      return M.api(path, { method: method || 'GET', body: body, token: token });
    };
    return freshToken().then(function (token) {
      if (!token) return null;
      return send(token).then(function (result) {
        if (state.leaving) return null;
        if (result.status !== 401) return result;
        if (!M.getRefreshToken()) {
          goToLogin(true);
          return null;
        }
        var used = token;
        var retry = state.token !== used ? Promise.resolve(state.token) : renew();
        return retry.then(function (fresh) {
          if (!fresh || fresh === used) {
            if (!state.leaving) goToLogin(true);
            return null;
          }
          return send(fresh).then(function (again) {
            if (state.leaving) return null;
            if (again.status === 401) {
              goToLogin(true);
              return null;
            }
            return again;
          });
        });
      });
    });
  }

  function contextPath(name) {
    return '/contexts/' + encodeURIComponent(name);
  }

  /* ---------- header ---------- */

  function hasOrganization() {
    var u = state.user || {};
    var claims = M.decodeJwt(state.token) || {};
    return u.organization_id != null || claims.organization_id != null;
  }

  function renderUser() {
    var u = state.user || {};
    $('user-name').textContent = u.name || '';
    $('user-email').textContent = u.email || '';
    $('user-account-type').textContent = M.accountTypeLabel(u.account_type);
    renderVisibilityOptions();
  }

  function renderVisibilityOptions() {
    var select = $('context-visibility');
    var org = hasOrganization();
    $('context-visibility-field').hidden = !org;
    var existing = select.querySelector('option[value="organization"]');
    if (org && !existing) {
      select.appendChild(el('option', { value: 'organization' }, 'Organization (everyone in your organization)'));
    } else if (!org && existing) {
      select.removeChild(existing);
    }
  }

  function loadMe() {
    return call('/auth/me').then(function (result) {
      if (!result) return;
      if (result.ok && result.body.user) {
        state.user = result.body.user;
        M.saveProfile(state.user);
        renderUser();
      } else {
        M.showMessage($('dashboard-error'), 'Could not load your profile: ' + M.errorMessage(result));
      }
    });
  }

  /* ---------- contexts ---------- */

  function countLabel(n) {
    return n === 1 ? '1 memory' : n + ' memories';
  }

  function visibilityLabel(v) {
    return v === 'organization' ? 'Shared with organization' : 'Private';
  }

  function contextMeta(ctx) {
    var parts = [visibilityLabel(ctx.visibility)];
    if (ctx.owner && ctx.key !== ctx.name) parts.push('by ' + ctx.owner.name);
    if (typeof ctx.memory_count === 'number') parts.push(countLabel(ctx.memory_count));
    return parts.join(' · ');
  }

  function renderContextItem(ctx) {
    var open = el('button', {
      type: 'button',
      class: 'context-open',
      'aria-current': ctx.key === state.current ? 'true' : null,
      onclick: function () { openContext(ctx.key, true); }
    },
      el('span', { class: 'context-name' }, ctx.name),
      el('span', { class: 'context-meta' }, contextMeta(ctx)),
      ctx.description ? el('span', { class: 'context-desc' }, ctx.description) : null
    );
    var del = el('button', {
      type: 'button',
      class: 'button danger small context-delete',
      'aria-label': 'Delete context ' + ctx.key,
      onclick: function () { deleteContext(ctx.key); }
    }, 'Delete');
    return el('li', { class: 'context-item', dataset: { context: ctx.key } }, open, del);
  }

  function renderContexts() {
    var list = $('contexts-list');
    M.clear(list);
    state.contexts.forEach(function (ctx) { list.appendChild(renderContextItem(ctx)); });
    $('contexts-status').textContent = state.contexts.length
      ? ''
      : 'No contexts yet. Create one above to start saving memories.';
  }

  function loadContexts() {
    if (!state.contexts.length) $('contexts-status').textContent = 'Loading contexts…';
    return call('/contexts').then(function (result) {
      if (!result) return;
      if (!result.ok) {
        $('contexts-status').textContent = 'Could not load contexts: ' + M.errorMessage(result);
        return;
      }
      state.contexts = Array.isArray(result.body.contexts) ? result.body.contexts : [];
      // A shared context of another member is addressed as OWNER_ID:NAME (its href), so
      // it never clashes with an own context of the same name.
      state.contexts.forEach(function (ctx) {
        var prefix = '/contexts/';
        ctx.key = typeof ctx.href === 'string' && ctx.href.indexOf(prefix) === 0
          ? decodeURIComponent(ctx.href.slice(prefix.length))
          : ctx.name;
      });
      renderContexts();
      if (state.current) renderPanelHeader();
    });
  }

  function findContext(name) {
    for (var i = 0; i < state.contexts.length; i++) {
      if (state.contexts[i].key === name) return state.contexts[i];
    }
    return null;
  }

  function onCreateContext(event) {
    event.preventDefault();
    var form = event.currentTarget;
    var nameInput = $('context-name');
    var errorBox = $('new-context-error');
    M.showMessage(errorBox, '');
    if (!M.validateForm(form)) return;
    var name = nameInput.value.trim();
    if (!CONTEXT_NAME.test(name)) {
      M.setFieldError(nameInput, nameInput.dataset.invalidMessage);
      nameInput.focus();
      return;
    }
    var body = { name: name };
    var description = $('context-description').value.trim();
    if (description) body.description = description;
    if (!$('context-visibility-field').hidden) body.visibility = $('context-visibility').value;

    M.setBusy(form, true, 'Creating…');
    call('/contexts', 'POST', body).then(function (result) {
      M.setBusy(form, false);
      if (!result) return;
      if (result.status === 201 || result.ok) {
        form.reset();
        return loadContexts().then(function () { openContext(name, true); });
      }
      if (result.status === 409 || result.body.error === 'conflict') {
        M.setFieldError(nameInput, M.errorMessage(result, 'A context with this name already exists.'));
        nameInput.focus();
      } else {
        M.showMessage(errorBox, M.errorMessage(result));
      }
    });
  }

  function deleteContext(name) {
    var ok = window.confirm('Delete the context "' + name + '" and all of its memories? This cannot be undone.');
    if (!ok) return;
    call(contextPath(name), 'DELETE').then(function (result) {
      if (!result) return;
      if (!result.ok && result.status !== 404) {
        M.showMessage($('dashboard-error'), 'Could not delete "' + name + '": ' + M.errorMessage(result));
        return;
      }
      M.showMessage($('dashboard-error'), '');
      if (state.current === name) closeContext(false);
      loadContexts().then(function () {
        $('contexts-status').textContent = 'Deleted context "' + name + '".';
        $('contexts-heading').focus();
      });
    });
  }

  /* ---------- context panel ---------- */

  function renderPanelHeader() {
    var ctx = findContext(state.current) || { name: state.current };
    $('context-panel-title').textContent = ctx.name;
    $('context-panel-meta').textContent = contextMeta(ctx);
    $('context-panel-description').textContent = ctx.description || '';
    $('context-panel-description').hidden = !ctx.description;
  }

  function markCurrent() {
    var items = $('contexts-list').querySelectorAll('.context-item');
    Array.prototype.forEach.call(items, function (li) {
      var button = li.querySelector('.context-open');
      if (li.dataset.context === state.current) button.setAttribute('aria-current', 'true');
      else button.removeAttribute('aria-current');
    });
  }

  function openContext(name, moveFocus) {
    var switching = state.current !== name;
    state.current = name;
    if (switching) {
      $('memory-form').reset();
      M.clearFieldErrors($('memory-form'));
      M.showMessage($('memory-error'), '');
      setSearch('');
      setContextActivity(false);
    }
    renderPanelHeader();
    markCurrent();
    $('context-placeholder').hidden = true;
    $('context-panel').hidden = false;
    if (moveFocus) $('context-panel-title').focus();
    renderSnippets();
    loadMemories(false);
  }

  function closeContext(moveFocus) {
    var name = state.current;
    state.current = null;
    state.loadSeq++;
    $('context-panel').hidden = true;
    $('context-placeholder').hidden = false;
    M.clear($('memories-list'));
    setContextActivity(false);
    markCurrent();
    if (moveFocus && name) {
      var item = $('contexts-list').querySelector('[data-context="' + cssEscape(name) + '"] .context-open');
      (item || $('contexts-heading')).focus();
    }
  }

  function cssEscape(s) {
    return window.CSS && CSS.escape ? CSS.escape(s) : s.replace(/["\\]/g, '\\$&');
  }

  /* ---------- memories ---------- */

  function parseTags(raw) {
    var seen = {};
    return raw.split(',').map(function (t) { return t.trim(); }).filter(function (t) {
      if (!t || seen[t]) return false;
      seen[t] = true;
      return true;
    });
  }

  // The server's limits (README, "Additions to the contract").
  var MAX_TAGS = 20;
  var MAX_TAG_CHARS = 64;

  function tagsProblem() {
    var tags = parseTags($('memory-tags').value);
    if (tags.length > MAX_TAGS) return 'Use at most ' + MAX_TAGS + ' tags.';
    var long = tags.filter(function (t) { return Array.from(t).length > MAX_TAG_CHARS; })[0];
    return long ? 'A tag can be at most ' + MAX_TAG_CHARS + ' characters: "' + long.slice(0, 20) + '…" is longer.' : '';
  }

  function memoryPreview(text) {
    var s = String(text || '').replace(/\s+/g, ' ').trim();
    return s.length > 40 ? s.slice(0, 40) + '…' : s;
  }

  function renderMemory(memory) {
    var tags = Array.isArray(memory.tags) ? memory.tags : [];
    var tagList = tags.length
      ? el('ul', { class: 'tags', 'aria-label': 'Tags' }, tags.map(function (t) { return el('li', { class: 'tag' }, String(t)); }))
      : null;
    var time = memory.created_at
      ? el('time', { datetime: memory.created_at }, M.formatDate(memory.created_at))
      : null;
    var del = el('button', {
      type: 'button',
      class: 'button danger small memory-delete',
      'aria-label': 'Delete memory: ' + memoryPreview(memory.text),
      onclick: function () { deleteMemory(memory.id, li); }
    }, 'Delete');
    var li = el('li', { class: 'memory-item', dataset: { id: memory.id } },
      el('p', { class: 'memory-text' }, String(memory.text == null ? '' : memory.text)),
      el('div', { class: 'memory-meta' }, tagList, time, del)
    );
    return li;
  }

  function memoriesUrl(cursor) {
    var params = new URLSearchParams();
    if (state.query) params.set('query', state.query);
    params.set('limit', String(PAGE_SIZE));
    if (cursor) params.set('cursor', cursor);
    return contextPath(state.current) + '/memories?' + params.toString();
  }

  function memoriesSummary(count) {
    if (state.query) {
      return count ? 'Results for "' + state.query + '", best match first.' : 'No memories match "' + state.query + '".';
    }
    return count ? '' : 'No memories in this context yet.';
  }

  /** Loads the first page (append=false) or the next page (append=true). */
  function loadMemories(append) {
    var seq = ++state.loadSeq;
    var list = $('memories-list');
    var more = $('memories-more');
    var status = $('memories-status');
    if (!append) {
      M.clear(list);
      state.cursor = null;
      more.hidden = true;
    }
    more.disabled = true;
    status.textContent = append ? 'Loading more…' : 'Loading memories…';

    return call(memoriesUrl(append ? state.cursor : null)).then(function (result) {
      if (!result || seq !== state.loadSeq) return;
      more.disabled = false;
      if (!result.ok) {
        status.textContent = 'Could not load memories: ' + M.errorMessage(result);
        if (result.status === 404) loadContexts();
        return;
      }
      var memories = Array.isArray(result.body.memories) ? result.body.memories : [];
      memories.forEach(function (m) { list.appendChild(renderMemory(m)); });
      state.cursor = result.body.next_cursor || null;
      more.hidden = !state.cursor;
      status.textContent = memoriesSummary(list.children.length);
    });
  }

  function onAddMemory(event) {
    event.preventDefault();
    var form = event.currentTarget;
    var textInput = $('memory-text');
    var errorBox = $('memory-error');
    M.showMessage(errorBox, '');
    if (!M.validateForm(form, { 'memory-tags': tagsProblem })) return;
    var name = state.current;
    var body = { text: textInput.value.trim(), tags: parseTags($('memory-tags').value) };

    M.setBusy(form, true, 'Adding…');
    call(contextPath(name) + '/memories', 'POST', body).then(function (result) {
      M.setBusy(form, false);
      if (!result || name !== state.current) return;
      if (!result.ok) {
        M.showMessage(errorBox, M.errorMessage(result));
        return;
      }
      form.reset();
      textInput.focus();
      setSearch('');
      loadMemories(false);
      loadContexts();
    });
  }

  function deleteMemory(id, item) {
    var name = state.current;
    call(contextPath(name) + '/memories/' + encodeURIComponent(id), 'DELETE').then(function (result) {
      if (!result || name !== state.current) return;
      if (!result.ok && result.status !== 404) {
        $('memories-status').textContent = 'Could not delete the memory: ' + M.errorMessage(result);
        return;
      }
      var next = item.nextElementSibling || item.previousElementSibling;
      if (item.parentNode) item.parentNode.removeChild(item);
      var list = $('memories-list');
      $('memories-status').textContent = list.children.length ? 'Memory deleted.' : memoriesSummary(0);
      var target = next && next.querySelector('.memory-delete');
      (target || $('memory-text')).focus();
      loadContexts();
    });
  }

  function setSearch(query) {
    state.query = query;
    $('search-query').value = query;
    $('search-clear').hidden = !query;
  }

  function onSearch(event) {
    event.preventDefault();
    if (!state.current) return;
    setSearch($('search-query').value.trim());
    loadMemories(false);
  }

  function onClearSearch() {
    setSearch('');
    $('search-query').focus();
    loadMemories(false);
  }

  /* ---------- sessions ---------- */

  /** "Chrome on Linux from 127.0.0.1": the user agent, shortened, and the address. */
  function sessionPlace(session) {
    var agent = String(session.user_agent || '').trim();
    var parts = [];
    if (agent) parts.push(agent.length > 80 ? agent.slice(0, 80) + '…' : agent);
    if (session.address) parts.push('from ' + session.address);
    return parts.join(' ') || 'Unknown device';
  }

  function renderSession(session) {
    var place = sessionPlace(session);
    var times = [
      el('span', null, 'Signed in ', el('time', { datetime: session.created_at }, M.formatDate(session.created_at))),
      session.last_used_at
        ? el('span', null, ' · last used ', el('time', { datetime: session.last_used_at }, M.formatDate(session.last_used_at)))
        : null
    ];
    var end = el('button', {
      type: 'button',
      class: 'button secondary small session-logout',
      'aria-label': session.current ? 'Log out this device' : 'Log out ' + place,
      onclick: function (event) {
        if (session.current) endSessions('/auth/logout', event.currentTarget);
        else endSession(session, event.currentTarget);
      }
    }, 'Log out');
    return el('li', { class: 'session-item', dataset: { session: session.session_id, current: session.current ? 'true' : 'false' } },
      el('div', { class: 'session-info' },
        el('span', { class: 'session-place' }, place, session.current ? el('span', { class: 'badge' }, 'This device') : null),
        el('span', { class: 'session-times muted' }, times)
      ),
      end
    );
  }

  function loadSessions() {
    var status = $('sessions-status');
    return call('/auth/sessions').then(function (result) {
      if (!result) return;
      if (!result.ok) {
        status.textContent = 'Could not load your sessions: ' + M.errorMessage(result);
        return;
      }
      var sessions = Array.isArray(result.body.sessions) ? result.body.sessions : [];
      // This device first, then the most recently used.
      sessions.sort(function (a, b) {
        if (a.current !== b.current) return a.current ? -1 : 1;
        return String(b.last_used_at || b.created_at).localeCompare(String(a.last_used_at || a.created_at));
      });
      var list = $('sessions-list');
      M.clear(list);
      sessions.forEach(function (session) { list.appendChild(renderSession(session)); });
      status.textContent = sessions.length === 1 ? 'Only this device is logged in.' : sessions.length + ' sessions.';
    });
  }

  function endSession(session, button) {
    button.disabled = true;
    call('/auth/sessions/' + encodeURIComponent(session.session_id), 'DELETE').then(function (result) {
      if (!result) return;
      if (!result.ok && result.status !== 404) {
        button.disabled = false;
        $('sessions-status').textContent = 'Could not log out that session: ' + M.errorMessage(result);
        return;
      }
      loadSessions().then(function () {
        $('sessions-status').textContent = 'Logged out ' + sessionPlace(session) + '.';
        $('sessions-heading').focus();
      });
    });
  }

  /* ---------- activity trails ---------- */

  /**
   * A paged view of an activity trail (`{activity, next}`, newest first) in the list,
   * status and "Older" button named by `ids`. Entries carry no memory text; what they
   * do carry (app names, actions) is shown as text only.
   */
  function Trail(ids) {
    this.ids = ids;
    this.path = null;
    this.before = null;
    this.seq = 0;
  }

  Trail.prototype.open = function (path) {
    this.path = path;
    this.before = null;
    M.clear($(this.ids.list));
    return this.load();
  };

  Trail.prototype.close = function () {
    this.path = null;
    this.seq++;
    M.clear($(this.ids.list));
    $(this.ids.more).hidden = true;
  };

  Trail.prototype.load = function () {
    var self = this;
    var seq = ++self.seq;
    var status = $(self.ids.status);
    status.textContent = 'Loading activity…';
    var url = self.path + '?limit=' + PAGE_SIZE + (self.before ? '&before=' + encodeURIComponent(self.before) : '');
    return call(url).then(function (result) {
      if (!result || seq !== self.seq) return;
      if (!result.ok) {
        status.textContent = 'Could not load the activity: ' + M.errorMessage(result);
        $(self.ids.more).hidden = true;
        return;
      }
      var entries = Array.isArray(result.body.activity) ? result.body.activity : [];
      var list = $(self.ids.list);
      entries.forEach(function (entry) { list.appendChild(renderEntry(entry)); });
      self.before = typeof result.body.next === 'string' ? result.body.next : null;
      $(self.ids.more).hidden = !self.before;
      var shown = list.children.length;
      status.textContent = shown
        ? (shown === 1 ? '1 entry' : shown + ' entries') + (self.before ? ', newest first; older ones follow.' : ', newest first.')
        : 'No activity yet (entries are kept 90 days).';
    });
  };

  function renderEntry(entry) {
    var count = Number(entry.count) || 0;
    return el('li', { class: 'activity-item', dataset: { entry: String(entry.id || '') } },
      el('time', { datetime: String(entry.at || '') }, M.formatDate(entry.at)),
      el('span', { class: 'activity-app' }, String(entry.client_name || 'Unnamed app')),
      el('span', { class: 'activity-action' }, String(entry.action || '')),
      entry.context ? el('span', { class: 'activity-context' }, 'in ' + String(entry.context)) : null,
      el('span', { class: 'activity-count muted' }, countLabel(count))
    );
  }

  var contextTrail = new Trail({ list: 'context-activity', status: 'context-activity-status', more: 'context-activity-more' });
  var appTrail = new Trail({ list: 'app-activity', status: 'app-activity-status', more: 'app-activity-more' });

  function setContextActivity(shown) {
    var button = $('context-activity-toggle');
    $('context-activity-view').hidden = !shown;
    button.setAttribute('aria-expanded', shown ? 'true' : 'false');
    button.textContent = shown ? 'Hide activity' : 'Show activity';
    if (shown && state.current) contextTrail.open(contextPath(state.current) + '/activity');
    else contextTrail.close();
  }

  /* ---------- connected apps ---------- */

  function appContexts(app) {
    if (app.contexts === 'all') return 'all contexts';
    if (Array.isArray(app.contexts)) return app.contexts.map(String).join(', ');
    return '';
  }

  function renderApp(app) {
    var name = String(app.client_name || 'Unnamed app');
    var scopes = Array.isArray(app.scopes) ? app.scopes.map(String) : [];
    var may = scopes.indexOf('memories:write') >= 0 ? 'reads and writes' : 'reads';
    return el('li', { class: 'session-item app-item', dataset: { grant: String(app.grant_id) } },
      el('div', { class: 'session-info' },
        el('span', { class: 'session-place app-name' }, name),
        el('span', { class: 'app-scopes' }, may + ' ' + appContexts(app) + ' (' + scopes.join(' ') + ')'),
        el('span', { class: 'session-times muted' },
          'Connected ', el('time', { datetime: String(app.created_at || '') }, M.formatDate(app.created_at)),
          app.last_used_at
            ? [' · last used ', el('time', { datetime: String(app.last_used_at) }, M.formatDate(app.last_used_at))]
            : null)
      ),
      el('div', { class: 'app-actions' },
        el('button', {
          type: 'button',
          class: 'button secondary small app-activity',
          'aria-label': 'Activity of ' + name,
          onclick: function () { showAppActivity(app); }
        }, 'Activity'),
        el('button', {
          type: 'button',
          class: 'button danger small app-revoke',
          'aria-label': 'Revoke ' + name,
          onclick: function (event) { revokeApp(app, event.currentTarget); }
        }, 'Revoke')
      )
    );
  }

  function loadApps() {
    var status = $('apps-status');
    return call('/auth/grants').then(function (result) {
      if (!result) return;
      if (!result.ok) {
        status.textContent = 'Could not load your connected apps: ' + M.errorMessage(result);
        return;
      }
      var apps = Array.isArray(result.body.grants) ? result.body.grants : [];
      var list = $('apps');
      M.clear(list);
      apps.forEach(function (app) { list.appendChild(renderApp(app)); });
      status.textContent = apps.length
        ? (apps.length === 1 ? '1 connected app.' : apps.length + ' connected apps.')
        : 'No connected apps. Add this server to an MCP client by its URL to connect one.';
    });
  }

  function showAppActivity(app) {
    $('app-activity-heading').textContent = 'What ' + String(app.client_name || 'Unnamed app') + ' did';
    $('app-activity-view').hidden = false;
    appTrail.open('/auth/grants/' + encodeURIComponent(app.grant_id) + '/activity').then(function () {
      $('app-activity-heading').focus();
    });
  }

  function revokeApp(app, button) {
    var name = String(app.client_name || 'Unnamed app');
    button.disabled = true;
    call('/auth/grants/' + encodeURIComponent(app.grant_id), 'DELETE').then(function (result) {
      if (!result) return;
      if (!result.ok && result.status !== 404) {
        button.disabled = false;
        $('apps-status').textContent = 'Could not revoke ' + name + ': ' + M.errorMessage(result);
        return;
      }
      loadApps().then(function () {
        $('apps-status').textContent = 'Revoked ' + name + ': its tokens no longer work.';
        $('apps-heading').focus();
      });
    });
  }

  /* ---------- token panel ---------- */

  /** Ready-to-paste text for the shell (CLI), curl and the MCP server settings. */
  function snippets(token) {
    var origin = window.location.origin;
    var repo = $('mcp-repo').value.trim().replace(/\/+$/, '') || '/path/to/mem0';
    var mcp = {
      'mcp.servers': {
        mem0: {
          command: repo + '/client/mem0',
          args: ['mcp'],
          env: { MEM0_JWT_TOKEN: token, MEM0_API_URL: origin }
        }
      }
    };
    return {
      'snippet-shell': 'export MEM0_USER_TOKEN=' + token + '\n' +
        'export MEM0_API_URL=' + origin + '\n' +
        './client/mem0 recall --context ' + (state.current || 'my-project'),
      'snippet-curl': 'curl -H "Authorization: Bearer $MEM0_USER_TOKEN" ' + origin + '/contexts',
      'snippet-mcp': JSON.stringify(mcp, null, 2)
    };
  }

  var SNIPPET_IDS = ['snippet-shell', 'snippet-curl', 'snippet-mcp'];

  function renderSnippets() {
    var revealed = !$('token-details').hidden;
    var texts = revealed ? snippets(state.token) : {};
    SNIPPET_IDS.forEach(function (id) { $(id).textContent = texts[id] || ''; });
  }

  /** The current token's expiry and a countdown every second; at zero, without a renewal, the session is over. */
  function startExpiryClock() {
    var shown = null;
    var tick = function () {
      var exp = M.tokenExpiry(state.token);
      if (!exp) {
        $('token-expiry-date').textContent = 'Expiry unknown.';
        $('token-countdown').textContent = '';
        return;
      }
      if (shown !== state.token) {
        shown = state.token;
        $('token-expiry-date').textContent = 'Expires ' + M.formatDate(exp) + ',';
      }
      var left = exp.getTime() - Date.now();
      if (left <= 0) {
        $('token-countdown').textContent = '';
        if (!M.getRefreshToken()) {
          window.clearInterval(timer);
          goToLogin(true);
        }
        return;
      }
      $('token-countdown').textContent = 'in ' + M.formatCountdown(left) + '.';
    };
    var timer = window.setInterval(tick, 1000);
    tick();
  }

  function setTokenRevealed(revealed) {
    var button = $('token-reveal');
    $('token-value').textContent = revealed ? state.token : '';
    $('token-details').hidden = !revealed;
    renderSnippets();
    button.setAttribute('aria-expanded', revealed ? 'true' : 'false');
    button.textContent = revealed ? 'Hide token' : 'Reveal token';
  }

  function copyAndReport(text, what, fallbackNode) {
    var status = $('token-copy-status');
    M.copyText(text).then(function (ok) {
      if (ok) {
        status.textContent = what + ' copied to the clipboard.';
        return;
      }
      if (fallbackNode) {
        setTokenRevealed(true);
        M.selectContents(fallbackNode());
        status.textContent = 'Copying is blocked here; the text is selected, press Ctrl+C (⌘C on Mac).';
      } else {
        status.textContent = 'Could not copy automatically. Reveal the token and copy it by hand.';
      }
    });
  }

  function bindTokenPanel() {
    startExpiryClock();
    $('token-reveal').addEventListener('click', function () {
      setTokenRevealed($('token-details').hidden);
    });
    $('token-copy').addEventListener('click', function () {
      copyAndReport(state.token, 'Token', function () { return $('token-value'); });
    });
    $('mcp-repo').addEventListener('input', renderSnippets);
    Array.prototype.forEach.call(document.querySelectorAll('[data-copy]'), function (button) {
      button.addEventListener('click', function () {
        var id = button.getAttribute('data-copy');
        var label = $(id + '-label');
        copyAndReport(snippets(state.token)[id], (label ? label.textContent : 'Snippet') + ' snippet', function () { return $(id); });
      });
    });
  }

  /* ---------- start ---------- */

  function bindEvents() {
    $('logout').addEventListener('click', onLogout);
    $('logout-all').addEventListener('click', onLogoutEverywhere);
    $('new-context-form').addEventListener('submit', onCreateContext);
    $('memory-form').addEventListener('submit', onAddMemory);
    $('search-form').addEventListener('submit', onSearch);
    $('search-clear').addEventListener('click', onClearSearch);
    $('memories-more').addEventListener('click', function () { loadMemories(true); });
    $('close-context-panel').addEventListener('click', function () { closeContext(true); });
    $('context-activity-toggle').addEventListener('click', function () {
      setContextActivity($('context-activity-view').hidden);
    });
    $('context-activity-more').addEventListener('click', function () { contextTrail.load(); });
    $('app-activity-more').addEventListener('click', function () { appTrail.load(); });
    M.liveValidation($('new-context-form'));
    M.liveValidation($('memory-form'), { 'memory-tags': tagsProblem });
    bindTokenPanel();
    // Logging out in another tab ends this session too; a renewal there is taken over
    // here; a login as someone else reloads.
    window.addEventListener('storage', function (event) {
      if (state.leaving) return;
      if (event.key !== null && event.key !== M.KEYS.token) return;
      var token = M.getToken();
      if (token === state.token) return;
      if (!token || (!M.tokenIsLive(token) && !M.getRefreshToken())) {
        goToLogin(true);
        return;
      }
      var was = M.decodeJwt(state.token) || {};
      var now = M.decodeJwt(token) || {};
      if (was.user_id !== now.user_id || was.sid !== now.sid) window.location.reload();
      else adoptToken(token);
    });
  }

  function start() {
    if (!state.token) {
      window.location.replace('/login');
      return;
    }
    if (!M.tokenIsLive(state.token) || M.tokenRefreshDue(state.token)) {
      if (!M.getRefreshToken()) {
        goToLogin(true);
        return;
      }
      // Back after a while: renew before showing anything.
      renew().then(function (token) {
        if (token) show();
        else if (!state.leaving) goToLogin(true);
      });
      return;
    }
    show();
  }

  function show() {
    state.user = M.getUser() || M.decodeJwt(state.token) || {};
    renderUser();
    bindEvents();
    $('app').hidden = false;
    scheduleRefresh();
    loadMe();
    loadContexts();
    loadSessions();
    loadApps();
  }

  start();
})();
