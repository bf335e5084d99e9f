// Photo strip: a thumbnail shows its photo in the large frame instead of leaving the page.
const hero = document.querySelector('[data-hero]');
for (const link of document.querySelectorAll('[data-photo]')) {
  link.addEventListener('click', (event) => {
    if (!hero) return;
    event.preventDefault();
    hero.src = link.dataset.photo;
    hero.alt = link.querySelector('img')?.alt ?? hero.alt;
  });
}
