/**
 * Labels a Fleet stamps on every object of a site (the ApplicationSet adds `site`, the wave's
 * folder carries `wave`); its ServiceMonitor copies both onto every series, and the gate asks
 * Prometheus per `site`.
 */
export const SITE_LABEL = 'site';
export const WAVE_LABEL = 'wave';
