/**
 * Routes. Pages beyond the first screens are loaded on demand: the trade page (and with
 * it the chart library) stays out of the initial download.
 */
import { Navigate, Route, Router } from '@solidjs/router';
import { lazy } from 'solid-js';
import { Layout } from './pages/Layout';
import Login from './pages/Login';
import Markets from './pages/Markets';
import { type Stores, StoresProvider } from './stores';

const Signup = lazy(() => import('./pages/Signup'));
const Trade = lazy(() => import('./pages/Trade'));
const Account = lazy(() => import('./pages/Account'));
const Admin = lazy(() => import('./pages/Admin'));
const NotFound = lazy(() => import('./pages/NotFound'));

export function App(props: { stores: Stores }) {
  return (
    <StoresProvider stores={props.stores}>
      <Router root={Layout}>
        <Route path="/" component={() => <Navigate href="/markets" />} />
        <Route path="/login" component={Login} />
        <Route path="/signup" component={Signup} />
        <Route path="/markets" component={Markets} />
        <Route path="/trade/:symbol" component={Trade} />
        <Route path="/account" component={Account} />
        <Route path="/admin" component={Admin} />
        <Route path="*404" component={NotFound} />
      </Router>
    </StoresProvider>
  );
}
