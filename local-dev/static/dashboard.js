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

  /** Revokes the token on the server (best effort: leaving must never be blocked), then leaves. */
  function onLogout() {
    $('logout').disabled = true;
    var leave = function () { goToLogin(false); };
    M.api('/auth/logout', { method: 'POST', token: state.token }).then(leave, leave);
  }

  /** Authenticated call; a 401 ends the session. Resolves to null in that case. */
  function call(path, method, body) {
    return M.api(path, { method: method || 'GET', body: body, token: state.token }).then(function (result) {
      if (state.leaving) return null;
      if (result.status === 401) {
        goToLogin(true);
        return null;
      }
      return result;
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

  /** Expiry date once, then a countdown every second; at zero the session is over. */
  function startExpiryClock() {
    var exp = M.tokenExpiry(state.token);
    if (!exp) {
      $('token-expiry-date').textContent = 'Expiry unknown.';
      return;
    }
    $('token-expiry-date').textContent = 'Expires ' + M.formatDate(exp) + ',';
    var tick = function () {
      var left = exp.getTime() - Date.now();
      if (left <= 0) {
        window.clearInterval(timer);
        goToLogin(true);
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
    $('new-context-form').addEventListener('submit', onCreateContext);
    $('memory-form').addEventListener('submit', onAddMemory);
    $('search-form').addEventListener('submit', onSearch);
    $('search-clear').addEventListener('click', onClearSearch);
    $('memories-more').addEventListener('click', function () { loadMemories(true); });
    $('close-context-panel').addEventListener('click', function () { closeContext(true); });
    M.liveValidation($('new-context-form'));
    M.liveValidation($('memory-form'), { 'memory-tags': tagsProblem });
    bindTokenPanel();
    // Logging out in another tab ends this session too.
    window.addEventListener('storage', function (event) {
      if (event.key === null || (event.key === M.KEYS.token && event.newValue !== state.token)) {
        if (!M.tokenIsLive(M.getToken())) goToLogin(true);
        else window.location.reload();
      }
    });
  }

  function start() {
    if (!state.token) {
      window.location.replace('/login');
      return;
    }
    if (!M.tokenIsLive(state.token)) {
      goToLogin(true);
      return;
    }
    state.user = M.getUser() || M.decodeJwt(state.token) || {};
    renderUser();
    bindEvents();
    $('app').hidden = false;
    loadMe();
    loadContexts();
  }

  start();
})();
