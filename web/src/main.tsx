import { render } from 'preact';
import { App } from './app';
import { loadMe } from './api/client';
import { loadRegions } from './lib/regions';
import { lang } from './i18n';
import './styles.css';

document.documentElement.lang = lang.value;
// before the first render, not in an effect: an effect waits for a frame
loadMe();
loadRegions();
// the "Memuat…" placeholder of index.html goes: Preact renders beside
// children it did not make rather than over them
const root = document.getElementById('app')!;
root.replaceChildren();
render(<App />, root);

if ('serviceWorker' in navigator && location.protocol !== 'file:') {
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => undefined);
}
// reports filed with no connection go out when it returns (WEB-A)
import('./offline/outbox').then((m) => m.start(), () => undefined);
