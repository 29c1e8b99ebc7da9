// dom.js - the one DOM helper the pages share: el(tag, attrs, ...kids).

// An element: attrs class, text, on* listeners, others as attributes
// (true: present, false/null/undefined: left out).
export function el(tag, attrs = {}, ...kids) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs)) {
		if (k === 'class')
			e.className = v;
		else if (k === 'text')
			e.textContent = v;
		else if (k.startsWith('on'))
			e.addEventListener(k.slice(2), v);
		else if (v !== undefined && v !== null && v !== false)
			e.setAttribute(k, v === true ? '' : v);
	}
	e.append(...kids);
	return e;
}
