// Nothing special: livegate needs no Next.js configuration. The app fetches
// nothing from the internet at build or run time (no next/font/google).
/** @type {import('next').NextConfig} */
const config = {
  poweredByHeader: false,
};

export default config;
