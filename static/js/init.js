// ISG front-end start-up. Loaded on every page by templates/base.html as
//   <script type="module" src="{% static 'js/init.js' %}"></script>
// It is a module file rather than inline script because the
// Content-Security-Policy does not allow inline scripts.
//
// Browsers that cannot run ES modules never run this file, so they never get
// the `govuk-frontend-supported` class and GOV.UK Frontend's CSS shows the
// no-JavaScript versions of components (which work: nothing in ISG needs JS).
import { initAll } from "../govuk-frontend/govuk-frontend.min.js";

// GOV.UK Frontend's initAll() does nothing unless this class is on <body>; the
// GOV.UK page template normally adds it with an inline script.
document.body.classList.add("govuk-frontend-supported");

initAll();
