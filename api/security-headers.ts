// Response headers that keep browsers safe with the API and the console it will serve under "/":
// the console's own scripts, styles and API only, no framing, no sniffing, no referrer.
import helmet from 'helmet';

export const securityHeaders = () =>
  helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        baseUri: ["'self'"],
        connectSrc: ["'self'"],
        fontSrc: ["'self'", 'data:'],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        imgSrc: ["'self'", 'data:'],
        objectSrc: ["'none'"],
        scriptSrc: ["'self'"],
        scriptSrcAttr: ["'none'"],
        // Inline style attributes are common in SPA markup and cannot run code.
        styleSrc: ["'self'", "'unsafe-inline'"],
        // No upgrade-insecure-requests: on a plain-HTTP loopback listener it would break the console.
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    // Browsers honour it only over HTTPS; the controller does not speak for sibling subdomains.
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: false },
  });
