import { A } from '@solidjs/router';

export default function NotFound() {
  return (
    <section class="panel">
      <h1>Page not found</h1>
      <p>
        <A href="/markets">Go to the markets</A>
      </p>
    </section>
  );
}
