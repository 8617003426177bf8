import '../../src/polyfill.js'
