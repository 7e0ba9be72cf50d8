// Applies the remembered theme before first paint (no flash of the wrong theme). A file,
// not an inline script: the server's Content-Security-Policy allows only 'self' scripts.
try {
  if (localStorage.getItem('rialto.theme') === 'light') {
    document.documentElement.dataset.theme = 'light';
  }
} catch {
  // storage unavailable: dark
}
