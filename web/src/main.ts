// The one script of every page: it reads <body data-page> and runs that page's code.
import { authPage } from './auth';
import { checkoutPage } from './checkout';
import { eventPage } from './event';
import { doorPage } from './door';
import { home } from './home';
import { organizePage, salesPage } from './organize';
import { queuePage } from './queue';
import { search } from './search';
import { showAccount } from './session';
import { ticketsPage } from './tickets';

const pages: Record<string, () => unknown> = {
  home,
  search,
  login: authPage,
  signup: authPage,
  event: eventPage,
  checkout: checkoutPage,
  tickets: ticketsPage,
  queue: queuePage,
  door: doorPage,
  organize: organizePage,
  sales: salesPage,
};

void showAccount();
const run = pages[document.body.dataset.page ?? ''];
if (run) {
  Promise.resolve(run()).catch((error: unknown) => {
    console.error(error);
    const main = document.getElementById('main');
    main?.prepend(Object.assign(document.createElement('p'), { className: 'message', role: 'alert', textContent: 'Something went wrong on this page. Please reload.' }));
  });
}
