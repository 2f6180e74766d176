/* The dashboard's account parts: the unverified-email banner with Resend, and the
   "Change password" form. Depends on /static/app.js (window.Mem0). */
(function () {
  'use strict';

  var M = window.Mem0;
  var $ = function (id) { return document.getElementById(id); };
  var token = M.getToken();
  if (!M.tokenIsLive(token)) return;

  function showBanner() {
    M.api('/auth/me', { token: token }).then(function (result) {
      $('verify-banner').hidden = !(result.ok && result.body.user && result.body.user.email_verified === false);
    });
  }

  $('verify-resend').addEventListener('click', function () {
    var button = $('verify-resend');
    button.disabled = true;
    M.api('/auth/verify-email/resend', { method: 'POST', token: token }).then(function (result) {
      $('verify-banner-text').textContent = result.ok
        ? result.body.message
        : (result.status === 429 ? M.rateLimitMessage(result, 'Too many mails asked for.') : M.errorMessage(result));
      button.disabled = false;
    });
  });

  var form = $('password-form');
  var message = $('password-message');
  M.liveValidation(form);
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    M.showMessage(message, '');
    M.clearFieldErrors(form);
    if (!M.validateForm(form)) return;
    M.setBusy(form, true, 'Changing…');
    var body = { current_password: $('current-password').value, new_password: $('changed-password').value };
    M.api('/auth/password', { method: 'POST', token: token, body: body }).then(function (result) {
      M.setBusy(form, false);
      if (result.ok) {
        form.reset();
        message.className = 'alert is-success';
      } else if (result.status === 429) {
        M.showMessage(message, M.rateLimitMessage(result, 'Too many wrong passwords.'));
        return;
      } else {
        message.className = 'alert';
      }
      M.showMessage(message, result.ok ? result.body.message : M.errorMessage(result));
    });
  });

  showBanner();
})();
