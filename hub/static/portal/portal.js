// eduhub portal (门户): built only on the public GraphQL API and the download endpoints.
"use strict";
(function () {
  const config = window.HUB;
  const $ = (id) => document.getElementById(id);
  let token = sessionStorage.getItem("eduhub.token") || "";
  let home = null;      // the viewer's own unit
  let me = null;        // the viewer: user, roles, permissions
  let trail = [];       // units from the viewer's own down to the one shown
  const charts = {};

  function text(value) {
    return value === null || value === undefined ? "—" : String(value);
  }
  function cell(row, value) {
    const td = document.createElement("td");
    td.textContent = text(value);
    row.appendChild(td);
    return td;
  }
  function say(message) { $("message").textContent = message || ""; }

  // Whether the viewer may do ``action`` on ``resource`` at ``path`` (me.permissions, decided
  // by the hub's policy): a section the viewer may not read says so instead of showing none.
  function may(resource, action, path) {
    return me.permissions.some((p) => p.resource === resource && p.action === action
      && p.paths.some((prefix) => path.startsWith(prefix)));
  }
  const DENIED = "无权查看";

  async function gql(query, variables) {
    const response = await fetch(config.endpoint, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer " + token },
      body: JSON.stringify({ query: query, variables: variables || {} }),
    });
    const body = await response.json();
    if (!body.data) {
      throw new Error((body.errors || [{ message: "请求失败" }]).map((e) => e.message).join("；"));
    }
    return body;
  }

  async function download(url, fallbackName) {
    const response = await fetch(url, { headers: { authorization: "Bearer " + token } });
    if (!response.ok) {
      const body = await response.json().catch(() => null);
      say(body && body.errors ? body.errors[0].message : "下载失败");
      return;
    }
    const disposition = response.headers.get("content-disposition") || "";
    const match = /filename\*=UTF-8''([^;]+)/.exec(disposition);
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = match ? decodeURIComponent(match[1]) : fallbackName;
    link.click();
    URL.revokeObjectURL(link.href);
  }

  const UNIT_QUERY = `query ($u: String!, $below: Boolean!) {
    statistics(under: $u) {
      unit { code name level path }
      students { count } teachers { count } schools { count } classes { count }
      buildings(by: [DANGER_RATING]) { count amount rows { keys { code label } count amount } }
      overall { students teachers studentsPerTeacher
        classSizes { upTo35 normal large oversized extreme total oversizedShare }
        dangerousFloorArea studentsInDangerousBuildings }
      monitoring @include(if: $below) { unit { code label } students teachers studentsPerTeacher
        classSizes { upTo35 normal large oversized extreme total oversizedShare }
        dangerousFloorArea studentsInDangerousBuildings }
    } }`;

  async function show(code, level) {
    say("");
    let body;
    try {
      body = await gql(UNIT_QUERY, { u: code, below: level !== "SCHOOL" });
    } catch (error) {
      say("无法查看该单位：" + error.message);
      return;
    }
    if (body.errors) say(body.errors.map((e) => e.message).join("；"));
    const s = body.data.statistics;
    const index = trail.findIndex((u) => u.code === s.unit.code);
    trail = index >= 0 ? trail.slice(0, index + 1) : trail.concat([s.unit]);
    location.hash = "unit=" + s.unit.code;
    renderCrumbs();
    $("unit").hidden = false;
    $("search").hidden = false;
    $("unit-name").textContent = s.unit.name + "（" + s.unit.code + "）";
    const seesBuildings = may("building", "read", s.unit.path);
    const ifBuildings = (value) => (seesBuildings ? value : DENIED);
    const cards = [
      ["学生数", s.students && s.students.count],
      ["教职工数", s.teachers && s.teachers.count],
      ["学校数", s.schools && s.schools.count],
      ["班级数", s.classes && s.classes.count],
      ["校舍面积(㎡)", ifBuildings(s.buildings && s.buildings.amount)],
      ["大班额占比", s.overall && s.overall.classSizes ? percent(s.overall.classSizes.oversizedShare) : null],
      ["在C/D级校舍上课学生", ifBuildings(s.overall && s.overall.studentsInDangerousBuildings)],
    ];
    $("headline").replaceChildren(...cards.map(([label, value]) => {
      const card = document.createElement("div");
      card.className = "card";
      card.dataset.label = label;
      const figure = document.createElement("b");
      figure.textContent = text(value);
      card.append(figure, label);
      return card;
    }));
    const units = s.monitoring || [{ unit: { code: s.unit.code, label: s.unit.name }, ...s.overall }];
    drawClasses(units);
    $("chart-buildings").hidden = !seesBuildings;
    $("buildings-denied").hidden = seesBuildings;
    if (seesBuildings) drawBuildings(s.buildings);
    const tbody = $("children").tBodies[0];
    tbody.replaceChildren();
    for (const m of s.monitoring || []) {
      const row = tbody.insertRow();
      const name = cell(row, "");
      const link = document.createElement("a");
      link.textContent = m.unit.label + "（" + m.unit.code + "）";
      link.dataset.code = m.unit.code;
      link.addEventListener("click", () => show(m.unit.code, nextLevel(s.unit.level)));
      name.appendChild(link);
      cell(row, m.students);
      cell(row, m.teachers);
      cell(row, m.studentsPerTeacher);
      cell(row, m.classSizes ? percent(m.classSizes.oversizedShare) : null);
      cell(row, ifBuildings(m.dangerousFloorArea));
      cell(row, ifBuildings(m.studentsInDangerousBuildings));
    }
    $("children").hidden = !s.monitoring;
    $("export-under").textContent = s.unit.name + "（" + s.unit.code + "）";
    $("school").hidden = true;
    if (s.unit.level === "SCHOOL") await showSchool(s.unit.code, seesBuildings);
  }

  const SCHOOL_QUERY = `query ($c: String!) { school(code: $c) {
    code name address headName phone foundedOn
    type { label } ownership { label } urbanRural { label }
    buildings(first: 100) { totalCount edges { node { name floorArea appraisedOn builtOn
      dangerRating { code label } } } }
    classes { name grade { label } size building { name dangerRating { code label } } } } }`;
  const DANGEROUS = ["C", "D"];
  function band(size) {
    if (size >= 66) return "超大班额";
    if (size >= 56) return "大班额";
    if (size >= 46) return "偏大";
    if (size >= 36) return "标准";
    return "小班";
  }

  async function showSchool(code, seesBuildings) {
    let body;
    try {
      body = await gql(SCHOOL_QUERY, { c: code });
    } catch (error) {
      say("无法查看学校：" + error.message);
      return;
    }
    const school = body.data.school;
    if (!school) return;
    const facts = [
      ["学校标识码", school.code], ["办学类型", school.type && school.type.label],
      ["举办者", school.ownership && school.ownership.label],
      ["城乡分类", school.urbanRural && school.urbanRural.label],
      ["地址", school.address], ["校长", school.headName], ["联系电话", school.phone],
      ["建校年月", school.foundedOn],
    ];
    $("school-facts").replaceChildren(...facts.flatMap(([label, value]) => {
      const dt = document.createElement("dt");
      dt.textContent = label;
      const dd = document.createElement("dd");
      dd.textContent = text(value);
      return [dt, dd];
    }));
    const buildings = school.buildings.edges.map((e) => e.node);
    $("building-count").textContent = seesBuildings ? String(school.buildings.totalCount) : DENIED;
    $("school-buildings").hidden = !seesBuildings;
    $("school-buildings-denied").hidden = seesBuildings;
    const btbody = $("school-buildings").tBodies[0];
    btbody.replaceChildren();
    for (const b of buildings) {
      const row = btbody.insertRow();
      const rating = b.dangerRating;
      if (rating && DANGEROUS.includes(rating.code)) row.className = "danger";
      [b.name, b.floorArea, rating ? rating.label : "未鉴定", b.appraisedOn, b.builtOn].forEach((v) => cell(row, v));
    }
    $("class-count").textContent = String(school.classes.length);
    const ctbody = $("school-classes").tBodies[0];
    ctbody.replaceChildren();
    for (const c of school.classes) {
      const row = ctbody.insertRow();
      const rating = c.building && c.building.dangerRating;
      if (rating && DANGEROUS.includes(rating.code)) row.className = "danger";
      const where = seesBuildings ? [c.building && c.building.name, rating ? rating.label : null] : [DENIED, DENIED];
      [c.name, c.grade && c.grade.label, c.size, band(c.size), ...where].forEach((v) => cell(row, v));
    }
    $("school").hidden = false;
  }

  const LEVELS = ["NATIONAL", "PROVINCE", "CITY", "COUNTY", "SCHOOL"];
  function nextLevel(level) { return LEVELS[Math.min(LEVELS.indexOf(level) + 1, 4)]; }
  function percent(share) { return share === null || share === undefined ? null : (share * 100).toFixed(1) + "%"; }

  function chart(id) {
    if (!charts[id]) charts[id] = echarts.init($(id), null, { renderer: "svg" });
    return charts[id];
  }

  function drawClasses(units) {
    const bands = [["upTo35", "≤35人"], ["normal", "36-45人"], ["large", "46-55人"], ["oversized", "56-65人"], ["extreme", "66人及以上"]];
    chart("chart-classes").setOption({
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { top: 40, left: 50, right: 10, bottom: 60 },
      xAxis: { type: "category", data: units.map((u) => u.unit.label), axisLabel: { rotate: 30 } },
      yAxis: { type: "value" },
      series: bands.map(([key, name]) => ({
        name: name, type: "bar", stack: "班级",
        data: units.map((u) => (u.classSizes ? u.classSizes[key] : 0)),
      })),
    }, true);
  }

  function drawBuildings(table) {
    const rows = table ? table.rows : [];
    chart("chart-buildings").setOption({
      tooltip: {},
      grid: { top: 20, left: 70, right: 10, bottom: 40 },
      xAxis: { type: "category", data: rows.map((r) => r.keys[0].label || "未鉴定") },
      yAxis: { type: "value" },
      series: [{ name: "建筑面积", type: "bar", data: rows.map((r) => Number(r.amount || 0)) }],
    }, true);
  }

  function renderCrumbs() {
    $("crumbs").replaceChildren(...trail.map((u, i) => {
      const link = document.createElement("a");
      link.textContent = u.name + (i < trail.length - 1 ? " ›" : "");
      link.addEventListener("click", () => show(u.code, u.level));
      return link;
    }));
  }

  const SEARCH_BY_NAME = `query ($f: StudentFilter) { students(filter: $f, first: 20) {
    totalCount edges { node { studentNumber name sex { label } grade { label } school { name } idNumber } } } }`;
  const SEARCH_BY_NUMBER = `query ($n: String!) { student(studentNumber: $n) {
    studentNumber name sex { label } grade { label } school { name } idNumber } }`;

  async function search(event) {
    event.preventDefault();
    say("");
    const value = $("search-text").value.trim();
    const unit = trail[trail.length - 1];
    let found = [];
    try {
      if (/^[GLJ][0-9A-Z]{6,}$/.test(value)) {
        const body = await gql(SEARCH_BY_NUMBER, { n: value });
        found = body.data.student ? [body.data.student] : [];
      } else {
        const body = await gql(SEARCH_BY_NAME, { f: { namePrefix: value, under: unit.code } });
        found = body.data.students.edges.map((e) => e.node);
      }
    } catch (error) {
      say("查询失败：" + error.message);
    }
    const tbody = $("students").tBodies[0];
    tbody.replaceChildren();
    for (const s of found) {
      const row = tbody.insertRow();
      [s.studentNumber, s.name, s.sex && s.sex.label, s.grade && s.grade.label,
        s.school && s.school.name, s.idNumber].forEach((v) => cell(row, v));
    }
    if (!found.length) say("未找到符合条件的学生");
  }

  const EXPORTS = `{ exports(first: 20) { edges { node { id number entity purpose requestedBy
    status { code label } progress downloadUrl mayDecide reviewNote } } } }`;
  const ENTITY_LABELS = { STUDENTS: "学生", TEACHERS: "教职工", SCHOOLS: "学校", BUILDINGS: "校舍", ASSETS: "资产" };
  const PENDING = "1";

  function button(label, action) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.addEventListener("click", action);
    return b;
  }

  async function exportAction(mutation, variables, done) {
    try {
      const body = await gql(mutation, variables);
      const payload = Object.values(body.data)[0];
      if (payload.errors.length) {
        $("export-message").textContent = payload.errors.map((e) => e.message).join("；");
        return;
      }
      $("export-message").textContent = done(payload.exportRequest);
    } catch (error) {
      $("export-message").textContent = error.message;
    }
    await loadExports();
  }

  const REVIEW = `mutation ($input: ReviewInput!) { reviewExport(input: $input) {
    exportRequest { number status { label } } errors { message } } }`;
  const WITHDRAW = `mutation ($id: ID!) { withdrawExport(id: $id) {
    exportRequest { number status { label } } errors { message } } }`;
  const REQUEST = `mutation ($input: RequestExportInput!) { requestExport(input: $input) {
    exportRequest { number status { label } } errors { field message } } }`;

  async function loadExports() {
    let body;
    try { body = await gql(EXPORTS); } catch (error) { return; }
    const tbody = $("export-list").tBodies[0];
    tbody.replaceChildren();
    for (const { node } of body.data.exports.edges) {
      const row = tbody.insertRow();
      row.dataset.number = String(node.number);
      row.dataset.status = node.status.code;
      [node.number, ENTITY_LABELS[node.entity] || node.entity, node.purpose, node.requestedBy,
        node.status.label + (node.reviewNote ? "（" + node.reviewNote + "）" : ""),
        node.progress === null ? null : Math.round(node.progress * 100) + "%"].forEach((v) => cell(row, v));
      const action = cell(row, "");
      if (node.downloadUrl) {
        const link = document.createElement("a");
        link.textContent = "下载";
        link.addEventListener("click", () => download(node.downloadUrl, "export"));
        action.appendChild(link);
      }
      if (node.mayDecide) {
        const note = document.createElement("input");
        note.className = "note";
        note.placeholder = "审批意见";
        const decide = (approve) => () => exportAction(REVIEW,
          { input: { id: node.id, approve: approve, note: note.value || null } },
          (r) => "申请 " + r.number + "：" + r.status.label);
        action.append(note, button("批准", decide(true)), button("驳回", decide(false)));
      } else if (me && node.requestedBy === me.user && node.status.code === PENDING) {
        action.appendChild(button("撤回", () => exportAction(WITHDRAW, { id: node.id },
          (r) => "申请 " + r.number + "：" + r.status.label)));
      }
    }
    $("exports").hidden = false;
  }

  async function requestExport(event) {
    event.preventDefault();
    const unit = trail[trail.length - 1];
    const entity = $("export-entity").value;
    const filter = {};
    filter[entity.toLowerCase()] = { under: unit.code };
    await exportAction(REQUEST, { input: {
      entity: entity, purpose: $("export-purpose").value.trim(), format: $("export-format").value,
      filter: filter,
    } }, (r) => "已提交申请 " + r.number + "（" + r.status.label + "）");
  }

  async function start() {
    trail = [];
    let body;
    try {
      body = await gql("{ me { user level roles orgUnit { code name level } permissions { resource action paths } } }");
    } catch (error) {
      say("请先登录：" + error.message);
      return;
    }
    me = body.data.me;
    $("who").textContent = me.user + " · " + me.roles.join("、");
    home = me.orgUnit;
    trail = [home];
    const wanted = /unit=([0-9A-Z]+)/.exec(location.hash);
    await show(home.code, home.level);
    if (wanted && wanted[1] !== home.code) await show(wanted[1], null);
    await loadExports();
  }

  $("search-form").addEventListener("submit", search);
  $("export-form").addEventListener("submit", requestExport);
  $("download-stats").addEventListener("click", () => {
    const unit = trail[trail.length - 1];
    const by = unit.level === "SCHOOL" ? "by=GRADE" : "by=UNIT&by=GRADE";
    download(`/download/statistics.xlsx?under=${unit.code}&table=students&table=teachers&table=classes&${by}`, "统计.xlsx");
  });
  const picker = $("user");
  if (picker) {
    picker.addEventListener("change", () => {
      token = config.tokens[picker.value] || "";
      sessionStorage.setItem("eduhub.token", token);
      location.hash = "";
      start();
    });
    const asked = new URLSearchParams(location.search).get("user");
    if (asked && config.tokens[asked]) picker.value = asked;
    if (picker.value) { token = config.tokens[picker.value]; start(); }
  }
  const form = $("token-form");
  if (form) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      token = $("token").value.trim();
      sessionStorage.setItem("eduhub.token", token);
      start();
    });
    if (token) start();
  }
  window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));
})();
