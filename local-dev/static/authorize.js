/* Consent page (GET /oauth/authorize). Depends on /static/app.js (window.Mem0).
 * The server has checked the request already; this page logs the user in if needed,
 * asks, and sends the answer (POST /oauth/authorize), then follows its redirect_to. */
(function () {
  'use strict';

  var M = window.Mem0;
  var $ = function (id) { return document.getElementById(id); };
  var main = $('main');
  var loginForm = $('login-form');
  var consentForm = $('consent-form');
  var consentError = $('consent-error');
  var requested = (main.dataset.scopes || '').split(' ');
  var PARAMS = ['response_type', 'client_id', 'redirect_uri', 'code_challenge', 'code_challenge_method',
    'resource', 'scope', 'state'];

  function requestParams() {
    var query = new URLSearchParams(window.location.search);
    var params = {};
    PARAMS.forEach(function (name) {
      if (query.has(name)) params[name] = query.get(name);
    });
    return params;
  }

  function showLogin() {
    consentForm.hidden = true;
    loginForm.hidden = false;
    $('email').focus();
  }

  function contextRef(context) {
    // `href` is /contexts/<name> for one's own, /contexts/<owner>:<name> for a shared one.
    return String(context.href || '').replace(/^\/contexts\//, '');
  }

  function showContexts(contexts) {
    var list = $('context-list');
    M.clear(list);
    contexts.forEach(function (context, index) {
      var id = 'context-' + index;
      var label = context.owner && context.owner.name ? context.name + ' (' + context.owner.name + ')' : context.name;
      list.appendChild(M.el('li', null,
        M.el('label', { class: 'inline-check', for: id },
          M.el('input', { type: 'checkbox', id: id, class: 'context-pick', value: contextRef(context),
            onchange: function () { $('contexts-some').checked = true; } }),
          ' ' + label)));
    });
  }

  function showConsent(token) {
    loginForm.hidden = true;
    consentForm.hidden = false;
    [['scope-read', 'memories:read'], ['scope-write', 'memories:write']].forEach(function (pair) {
      var asked = requested.indexOf(pair[1]) !== -1;
      $(pair[0]).checked = asked;
      $(pair[0] + '-label').hidden = !asked;
    });
    M.api('/contexts', { token: token }).then(function (result) {
      if (result.ok && Array.isArray(result.body.contexts)) showContexts(result.body.contexts);
      else if (result.status === 401) showLogin();
    });
  }

  function decide(decision) {
    var token = M.getToken();
    if (!token) { showLogin(); return; }
    var body = requestParams();
    body.decision = decision;
    if (decision === 'allow') {
      body.scopes = requested.filter(function (scope) {
        var box = scope === 'memories:read' ? $('scope-read') : $('scope-write');
        return box && box.checked;
      });
      if (!body.scopes.length) {
        M.showMessage(consentError, 'Allow at least one thing, or deny.');
        return;
      }
      if ($('contexts-some').checked) {
        body.contexts = Array.prototype.map.call(document.querySelectorAll('.context-pick:checked'),
          function (box) { return box.value; });
        if (!body.contexts.length) {
          M.showMessage(consentError, 'Tick at least one context, or choose all of them.');
          return;
        }
      } else {
        body.contexts = 'all';
      }
    }
    M.showMessage(consentError, '');
    M.setBusy(consentForm, true, decision === 'allow' ? 'Allowing…' : 'Denying…');
    M.api('/oauth/authorize', { method: 'POST', body: body, token: token }).then(function (result) {
      if (result.ok && typeof result.body.redirect_to === 'string') {
        window.location.assign(result.body.redirect_to);
        return;
      }
      M.setBusy(consentForm, false);
      if (result.status === 401) { showLogin(); return; }
      M.showMessage(consentError, M.errorMessage(result));
    });
  }

  function onLogin(event) {
    event.preventDefault();
    var error = $('login-error');
    M.showMessage(error, '');
    M.clearFieldErrors(loginForm);
    if (!M.validateForm(loginForm)) return;
    var body = { email: $('email').value.trim(), password: $('password').value };
    M.setBusy(loginForm, true, 'Logging in…');
    M.api('/auth/login', { method: 'POST', body: body }).then(function (result) {
      M.setBusy(loginForm, false);
      if (result.status === 200 && M.saveSession(result.body)) {
        showConsent(M.getToken());
        return;
      }
      if (result.status === 401) M.showMessage(error, 'Wrong email or password.');
      else if (result.status === 429) M.showMessage(error, M.rateLimitMessage(result, 'Too many failed logins for this email.'));
      else M.showMessage(error, M.errorMessage(result));
    });
  }

  loginForm.addEventListener('submit', onLogin);
  consentForm.addEventListener('submit', function (event) { event.preventDefault(); decide('allow'); });
  $('consent-deny').addEventListener('click', function () { decide('deny'); });
  M.liveValidation(loginForm);

  var token = M.getToken();
  if (!token) {
    showLogin();
  } else {
    M.api('/auth/me', { token: token }).then(function (result) {
      if (result.ok) showConsent(token);
      else showLogin();
    });
  }
})();
