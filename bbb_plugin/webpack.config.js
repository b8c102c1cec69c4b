// Builds the plugin bundle and the manifest BBB reads (bbb-web fetches manifest.json, the
// client loads the bundle it names). The bundle's name carries its content hash, so the
// manifest checksum lpcfe sends in `pluginManifests` pins the exact bundle too.
const path = require('path');
const fs = require('fs');
const NAME = 'LpcfeChat';
// The SDK line of BigBlueButton 3.0 (0.0.x), from the floor its own samples declare.
const REQUIRED_SDK = '~0.0.73';

class WriteManifest {
  apply(compiler) {
    compiler.hooks.afterEmit.tap('WriteManifest', (compilation) => {
      const bundle = [...compilation.getStats().toJson({ assets: true }).assets]
        .map((asset) => asset.name)
        .find((name) => name.startsWith(`${NAME}.`) && name.endsWith('.js'));
      const manifest = {
        requiredSdkVersion: REQUIRED_SDK,
        name: NAME,
        javascriptEntrypointUrl: bundle,
      };
      fs.writeFileSync(path.join(compiler.outputPath, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    });
  }
}

module.exports = {
  entry: './src/index.tsx',
  output: {
    path: path.resolve(__dirname, 'dist'),
    filename: `${NAME}.[contenthash:12].js`,
    clean: true,
  },
  module: {
    rules: [{ test: /\.tsx?$/, use: 'ts-loader', exclude: /node_modules/ }],
  },
  resolve: { extensions: ['.tsx', '.ts', '.js'] },
  performance: { hints: false },
  plugins: [new WriteManifest()],
};
