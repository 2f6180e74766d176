/* Invitation page (/invite?token=...). Depends on /static/app.js (window.Mem0). */
(function () {
  'use strict';

  var M = window.Mem0;
  var $ = function (id) { return document.getElementById(id); };
  var token = new URLSearchParams(window.location.search).get('token') || '';
  var form = $('invite-form');
  var formError = $('form-error');
  var invitation = null;

  function fail(message) {
    $('invite-summary').textContent = 'This invitation cannot be used.';
    M.showMessage($('invite-error'), message);
  }

  function joined(result) {
    if (M.saveSession(result.body)) {
      window.location.assign('/dashboard');
      return;
    }
    M.showMessage(formError, 'Joined, but the session could not be stored in this browser (is storage disabled?).');
  }

  function accept() {
    M.showMessage($('invite-error'), '');
    var button = $('accept-button');
    button.disabled = true;
    M.api('/invitations/accept', { method: 'POST', body: { token: token }, token: M.getToken() }).then(function (result) {
      button.disabled = false;
      if (result.status === 200) { joined(result); return; }
      M.showMessage($('invite-error'), M.errorMessage(result));
    });
  }

  function onSubmit(event) {
    event.preventDefault();
    M.showMessage(formError, '');
    M.clearFieldErrors(form);
    if (!M.validateForm(form)) return;
    var body = { token: token, name: $('name').value.trim(), password: $('password').value };
    M.setBusy(form, true, 'Creating your account…');
    M.api('/invitations/accept', { method: 'POST', body: body }).then(function (result) {
      M.setBusy(form, false);
      if (result.status === 201) { joined(result); return; }
      if (result.body && result.body.error === 'weak_password') {
        M.setFieldError($('password'), result.body.message);
        return;
      }
      M.showMessage(formError, M.errorMessage(result));
    });
  }

  function show(found) {
    invitation = found;
    $('invite-title').textContent = 'Join ' + found.organization.name;
    $('invite-summary').textContent = found.email + ' is invited to ' + found.organization.name +
      ' as ' + found.role + '. The invitation works until ' + M.formatDate(found.expires_at) + '.';
    var user = M.getUser();
    var loggedIn = M.tokenIsLive(M.getToken()) && user;
    if (loggedIn && user.email === found.email) {
      $('logged-in-as').textContent = 'You are logged in as ' + user.email + '.';
      $('accept-logged-in').hidden = false;
      $('accept-button').focus();
    } else if (found.account_exists) {
      $('login-link').href = '/login?email=' + encodeURIComponent(found.email);
      $('log-in-first').hidden = false;
    } else {
      $('invite-email').value = found.email;
      form.hidden = false;
      $('name').focus();
    }
  }

  if (!token) {
    fail('The link has no invitation token. Open the link from the invitation mail.');
    return;
  }
  M.bindShowPassword($('show-password'), $('password'));
  M.liveValidation(form);
  form.addEventListener('submit', onSubmit);
  $('accept-button').addEventListener('click', accept);
  M.api('/invitations/preview', { method: 'POST', body: { token: token } }).then(function (result) {
    if (result.status === 200 && result.body.invitation) { show(result.body.invitation); return; }
    fail(M.errorMessage(result));
  });
})();
