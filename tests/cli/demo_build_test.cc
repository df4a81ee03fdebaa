// scripts/demo and scripts/test build in directories of their own, so that running one after the
// other rebuilds nothing, and the demo shows its build as it goes. Cheap: the demo runs with a
// stand-in for cmake that records what it was asked and prints a line of progress, and with the
// slablog this suite built.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "../testutil.h"
#include "process.h"

namespace slablog::test {

TEST_CASE("DemoBuildPresetsHaveBuildDirectoriesOfTheirOwn") {
  std::ifstream in(SourceDir() + "/CMakePresets.json");
  const auto presets = nlohmann::json::parse(in)["configurePresets"];
  std::map<std::string, std::string> dir_of;  // preset name -> binaryDir, inherited or its own
  for (int pass = 0; pass < 4; ++pass) {
    for (const auto& p : presets) {
      if (p.contains("binaryDir")) {
        dir_of[p["name"]] = p["binaryDir"];
      } else if (p.contains("inherits") && dir_of.count(p["inherits"].get<std::string>())) {
        dir_of[p["name"]] = dir_of[p["inherits"].get<std::string>()];
      }
    }
  }
  REQUIRE(dir_of.size() == presets.size());
  CHECK(dir_of["ci"] == "${sourceDir}/build");  // scripts/test, scripts/check-install, CI
  CHECK(dir_of["dev"] == "${sourceDir}/build-dev");  // scripts/setup, scripts/demo
  for (const auto& [a, dir_a] : dir_of) {
    for (const auto& [b, dir_b] : dir_of) {
      if (a < b) CHECK_MESSAGE(dir_a != dir_b, a, " and ", b, " share ", dir_a);
    }
  }
}

TEST_CASE("DemoShowsItsBuildAndEachStep") {
  TempDir fake;
  const std::string calls = fake.path("cmake-calls");
  {
    std::ofstream cmake(fake.path("cmake"));
    cmake << "#!/bin/sh\necho \"$*\" >> '" << calls << "'\n"
          << "[ \"$1\" = --build ] && echo '[ 42%] Building CXX object apps/fake.o'\nexit 0\n";
    std::ofstream dpkg(fake.path("dpkg-query"));
    dpkg << "#!/bin/sh\necho 'install ok installed'\n";
  }
  REQUIRE(std::system(("chmod +x '" + fake.path("cmake") + "' '" + fake.path("dpkg-query") + "'").c_str()) == 0);
  const RunResult r = RunShell("PATH='" + fake.dir() + "':\"$PATH\" SLABLOG_DEMO_BINARY='" + SlablogBinary() +
                                   "' '" + SourceDir() + "/scripts/demo'",
                               fake.dir());
  CHECK(r.exit_code == 0);
  INFO("stdout: ", r.out, "\nstderr: ", r.err);
  const std::string all = r.out + r.err;
  CHECK(all.find("[ 42%] Building CXX object apps/fake.o") != std::string::npos);
  for (const std::string step : {"$ scripts/setup", "$ slablog write", "$ slablog info robot.slog",
                                 "$ slablog dump", "$ slablog verify crashed.slog"}) {
    CHECK_MESSAGE(all.find(step) != std::string::npos, step);
  }
  std::ifstream in(calls);
  const std::string asked((std::istreambuf_iterator<char>(in)), {});
  CHECK(asked.find("--preset dev") != std::string::npos);
  CHECK(asked.find("--build build-dev") != std::string::npos);
}

}  // namespace slablog::test
