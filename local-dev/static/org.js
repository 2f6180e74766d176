/* The dashboard's Organization section: members and roles, invitations (admins), leaving.
   Depends on /static/app.js (window.Mem0). Who may do what is the server's to decide on
   every request; this only hides what the caller's current role cannot use. */
(function () {
  'use strict';

  var M = window.Mem0;
  var el = M.el;
  var $ = function (id) { return document.getElementById(id); };
  var state = { org: null, me: null, role: null };

  function call(path, method, body) {
    return M.api(path, { method: method || 'GET', body: body, token: M.getToken() });
  }

  function fail(result) {
    M.showMessage($('org-error'), M.errorMessage(result));
  }

  function base() { return '/orgs/' + state.org; }

  function roleSelect(member) {
    var select = el('select', {
      'aria-label': 'Role of ' + member.name,
      onchange: function () {
        call(base() + '/members/' + member.user_id, 'PATCH', { role: select.value }).then(function (result) {
          if (!result.ok) fail(result);
          loadMembers();
        });
      }
    });
    ['admin', 'member', 'viewer'].forEach(function (role) {
      var option = el('option', { value: role }, role);
      if (role === member.role) option.selected = true;
      select.appendChild(option);
    });
    return select;
  }

  function renderMember(member) {
    var admin = state.role === 'admin';
    var you = member.user_id === state.me;
    var item = el('li', { class: 'context-item', dataset: { member: String(member.user_id) } },
      el('span', { class: 'context-open' },
        el('span', { class: 'context-name' }, member.name + (you ? ' (you)' : '')),
        el('span', { class: 'context-meta' }, member.email + ' · ' + member.role)
      )
    );
    if (admin) item.appendChild(roleSelect(member));
    if (admin && !you) {
      item.appendChild(el('button', {
        type: 'button',
        class: 'button danger small',
        'aria-label': 'Remove ' + member.name,
        onclick: function () {
          call(base() + '/members/' + member.user_id, 'DELETE').then(function (result) {
            if (!result.ok) fail(result);
            loadMembers();
          });
        }
      }, 'Remove'));
    }
    return item;
  }

  function loadMembers() {
    return call(base() + '/members').then(function (result) {
      if (!result.ok) { fail(result); return; }
      var list = $('org-members');
      M.clear(list);
      result.body.members.forEach(function (member) { list.appendChild(renderMember(member)); });
    });
  }

  function loadInvitations() {
    return call(base() + '/invitations').then(function (result) {
      if (!result.ok) { fail(result); return; }
      var list = $('org-invitations');
      M.clear(list);
      var pending = result.body.invitations;
      $('org-invitations-status').textContent = pending.length ? '' : 'No pending invitations.';
      pending.forEach(function (invitation) {
        list.appendChild(el('li', { class: 'context-item', dataset: { invitation: invitation.invitation_id } },
          el('span', { class: 'context-open' },
            el('span', { class: 'context-name' }, invitation.email),
            el('span', { class: 'context-meta' }, invitation.role + ' · until ' + M.formatDate(invitation.expires_at))
          ),
          el('button', {
            type: 'button',
            class: 'button danger small',
            'aria-label': 'Revoke the invitation of ' + invitation.email,
            onclick: function () {
              call(base() + '/invitations/' + encodeURIComponent(invitation.invitation_id), 'DELETE').then(function (r) {
                if (!r.ok) fail(r);
                loadInvitations();
              });
            }
          }, 'Revoke')
        ));
      });
    });
  }

  function onInvite(event) {
    event.preventDefault();
    var form = $('invite-form');
    M.clearFieldErrors(form);
    if (!M.validateForm(form)) return;
    var email = $('invite-email').value.trim();
    M.setBusy(form, true, 'Sending…');
    call(base() + '/invitations', 'POST', { email: email, role: $('invite-role').value }).then(function (result) {
      M.setBusy(form, false);
      if (!result.ok) { $('invite-status').textContent = M.errorMessage(result); return; }
      $('invite-status').textContent = 'Invitation mailed to ' + email + '.';
      form.reset();
      loadInvitations();
    });
  }

  function onLeave() {
    call(base() + '/members/' + state.me, 'DELETE').then(function (result) {
      if (!result.ok) { fail(result); return; }
      window.location.reload();
    });
  }

  function start() {
    if (!M.tokenIsLive(M.getToken())) return;
    call('/auth/me').then(function (result) {
      if (!result.ok || !result.body.user || result.body.user.organization_id == null) return;
      state.org = result.body.user.organization_id;
      state.me = result.body.user.user_id;
      return call(base()).then(function (org) {
        if (!org.ok) return;
        state.role = org.body.role;
        $('org-summary').textContent = org.body.organization.name + ' · your role: ' + state.role;
        $('org-section').hidden = false;
        $('org-admin').hidden = state.role !== 'admin';
        $('invite-form').addEventListener('submit', onInvite);
        $('org-leave').addEventListener('click', onLeave);
        M.liveValidation($('invite-form'));
        loadMembers();
        if (state.role === 'admin') loadInvitations();
      });
    });
  }

  start();
})();
