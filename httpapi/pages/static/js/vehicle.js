import { valuationFor } from './valuation.js';
import './gallery.js';

valuationFor(document.querySelector('[data-valuation]'));
