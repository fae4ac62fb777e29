// Log in: user name, password and "remember me" (a 7-day session instead of 24 h). Wrong
// passwords and the lockout after repeated failures are shown under the form as the server words them.

import { post } from '../api.js';
import { h, act, field } from '../ui.js';

export function render(main, _params, ctx) {
  const username = h('input', { name: 'username', autocomplete: 'username', required: true, value: 'admin' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const remember = h('input', { name: 'remember_me', type: 'checkbox' });
  const submit = h('button', { type: 'submit' }, 'Log in');
  const form = h('form', { novalidate: true }, field('User name', username), field('Password', password),
    h('label', { class: 'check' }, remember, 'Remember me for 7 days'), submit);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    act(submit, async () => {
      await post('/login', { username: username.value, password: password.value, remember_me: remember.checked }, { keep401: true });
      const next = new URLSearchParams(location.search).get('next');
      ctx.navigate(next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login') ? next : '/', { replace: true });
    });
  });
  main.append(h('div', { class: 'login' },
    h('h1', null, h('img', { src: '/icon.svg', alt: '', width: 32, height: 32 }), 'fazt'), form));
  (username.value ? password : username).focus();
}
