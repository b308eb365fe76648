// componentize-js (StarlingMonkey) with no SDK: the cheapest executor this toolchain can make.
const description = { methods: [{ name: 'echo', endpoints: ['/index'] }], catchAll: undefined };

export const executor = {
  init(usesWith, metas) {},
  describe() {
    return description;
  },
  call(method, endpoint, docs, parameters) {
    return { tag: 'docs', val: docs };
  },
};
