// Sign a PDF with npm's @signpdf (node-forge CMS): node signpdf_sign.cjs IN P12 PASS OUT SUBFILTER
const { readFileSync, writeFileSync } = require('node:fs');
const signpdf = require('@signpdf/signpdf').default;
const { P12Signer } = require('@signpdf/signer-p12');
const { plainAddPlaceholder } = require('@signpdf/placeholder-plain');

const [input, p12, passphrase, output, subFilter] = process.argv.slice(2);
const withPlaceholder = plainAddPlaceholder({
  pdfBuffer: readFileSync(input), reason: 'Phe duyet', contactInfo: 'an@example.vn',
  name: 'Nguyen Van An', location: 'Ha Noi', subFilter,
});
const signer = new P12Signer(readFileSync(p12), { passphrase });
signpdf.sign(withPlaceholder, signer).then((signed) => writeFileSync(output, signed));
