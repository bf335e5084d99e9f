// The vehicle page: its gallery (the valuation is rendered on the server).
import './gallery.js';
