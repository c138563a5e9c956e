using System.Text.RegularExpressions;
using Aspire.Kafka.Topology;
using Microsoft.Playwright;

namespace Aspire.Kafka.AppHost.Tests;

/// <summary>The Aspire dashboard in a real browser (Playwright on Debian's chromium), as an operator opens it from the ready line.</summary>
[Collection(AppHostCollection.Name)]
public sealed class DashboardBrowserTests(AppHostFixture fixture)
{
    public const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task The_dashboard_lists_every_node_running_and_its_screenshot_is_saved_for_the_readme()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: ./test.sh installs it (apt-get install -y chromium).");
        using IPlaywright playwright = await Playwright.CreateAsync();
        await using IBrowser browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            // As root and on a machine without network: no sandbox, no background connections.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        IPage page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1600, Height = 1000 } });
        page.SetDefaultTimeout(60_000);
        Assertions.SetDefaultExpectTimeout(30_000);

        // The login link of the ready line: the token logs in and lands on the resources page.
        await page.GotoAsync($"{fixture.DashboardUrl}/login?t={fixture.BrowserToken}");
        try
        {
            foreach (NodeSpec node in fixture.Topology.Nodes)
            {
                // The row whose name cell is exactly the node's name (its text runs into the next cell's, so match the cell).
                ILocator nameCell = page.GetByRole(AriaRole.Gridcell).Filter(new LocatorFilterOptions { HasTextRegex = new Regex($"^\\s*{Regex.Escape(node.Name)}\\s*$") });
                ILocator row = page.GetByRole(AriaRole.Row).Filter(new LocatorFilterOptions { Has = nameCell });
                await Assertions.Expect(row).ToHaveCountAsync(1);
                await Assertions.Expect(row).ToContainTextAsync("Running");
            }
        }
        catch (Exception e) when (e is PlaywrightException or TimeoutException)
        {
            string failure = Path.Combine(Path.GetTempPath(), "dashboard-failure.png");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = failure, FullPage = true });
            IReadOnlyList<string> rows = await page.GetByRole(AriaRole.Row).AllTextContentsAsync();
            throw new InvalidOperationException(
                $"The dashboard at {page.Url} did not list every node Running (screenshot: {failure}; rows: {string.Join(" | ", rows.Select(r => r.ReplaceLineEndings(" ")))}): {e.Message}", e);
        }

        string screenshot = Path.Combine(ServiceProjects.FindRoot(AppContext.BaseDirectory), "docs", "images", "dashboard-resources.png");
        Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
        Assert.True(new FileInfo(screenshot).Length > 10_000, "the screenshot is suspiciously small");
    }
}
