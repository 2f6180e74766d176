/* Password reset page (/reset): without a token, asks for a link by mail; with the
   mailed link (/reset#token=...), sets the new password. The token is after '#', so
   it is in no request line; a reset happens only on this form's POST, never on GET. */
(function () {
  'use strict';

  var M = window.Mem0;
  var $ = function (id) { return document.getElementById(id); };
  var token = new URLSearchParams(window.location.hash.slice(1)).get('token');
  if (token) window.history.replaceState(null, '', window.location.pathname);

  function askForLink() {
    var form = $('forgot-form');
    var message = $('forgot-message');
    form.hidden = false;
    M.liveValidation(form);
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      M.showMessage(message, '');
      M.clearFieldErrors(form);
      if (!M.validateForm(form)) return;
      M.setBusy(form, true, 'Sending…');
      var body = { email: $('forgot-email').value.trim() };
      M.api('/auth/password/forgot', { method: 'POST', body: body }).then(function (result) {
        M.setBusy(form, false);
        if (result.ok) {
          message.className = 'alert is-success';
          M.showMessage(message, result.body.message);
        } else if (result.status === 429) {
          M.showMessage(message, M.rateLimitMessage(result, 'Too many requests for a link.'));
        } else {
          M.showMessage(message, M.errorMessage(result));
        }
      });
    });
    $('forgot-email').focus();
  }

  function setPassword() {
    var form = $('reset-form');
    var message = $('reset-message');
    var input = $('new-password');
    form.hidden = false;
    M.bindShowPassword($('show-new-password'), input);
    M.liveValidation(form);
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      M.showMessage(message, '');
      M.clearFieldErrors(form);
      if (!M.validateForm(form)) return;
      M.setBusy(form, true, 'Saving…');
      var body = { token: token, password: input.value };
      M.api('/auth/password/reset', { method: 'POST', body: body }).then(function (result) {
        M.setBusy(form, false);
        if (result.ok) {
          form.hidden = true;
          M.clearSession();
          $('reset-done').hidden = false;
          return;
        }
        if (result.body && result.body.error === 'invalid_token') {
          form.hidden = true;
          M.showMessage($('forgot-message'), 'This link is wrong, used already or expired. Ask for a new one below.');
          askForLink();
          return;
        }
        M.showMessage(message, M.errorMessage(result));
        input.focus();
      });
    });
    input.focus();
  }

  if (token) setPassword(); else askForLink();
})();
