export function App() {
  return (
    <div className="app">
      <header className="topbar">
        <span className="brand">ipsec-mesh</span>
      </header>
      <main id="main">The console is loading…</main>
    </div>
  );
}
